-- The current (highest) version of each orderable, for joins that name a product by id only
-- (stock cards). Requisition line items carry the version and join stg_orderables on both.
SELECT
    id AS orderable_id,
    max(versionnumber) AS version_number,
    argMax(code, versionnumber) AS product_code,
    argMax(fullproductname, versionnumber) AS product_name,
    argMax(netcontent, versionnumber) AS net_content
FROM {{ ref('stg_orderables') }}
GROUP BY id
