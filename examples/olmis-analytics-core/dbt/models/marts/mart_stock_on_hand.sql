-- Stock on hand per stock card (facility, program, product, lot) as of the as-of date: the
-- balance after the card's last movement on or before that day (0 for a card with none).
{%- set as_of = olmis_as_of_date() %}

WITH latest AS (
    SELECT
        stock_card_id,
        argMax(stock_on_hand, (occurred_date, processed_at, line_item_id)) AS stock_on_hand,
        max(occurred_date) AS last_movement_date
    FROM {{ ref('int_stock_card_balances') }}
    WHERE occurred_date <= {{ as_of }}
    GROUP BY stock_card_id
)

SELECT
    c.id AS stock_card_id,
    c.facilityid AS facility_id,
    f.facility_code,
    f.facility_name,
    f.district_name,
    f.region_id,
    f.region_name,
    c.programid AS program_id,
    p.code AS program_code,
    p.name AS program_name,
    c.orderableid AS orderable_id,
    o.product_code,
    o.product_name,
    c.lotid AS lot_id,
    l.lotcode AS lot_code,
    l.expirationdate AS lot_expiration_date,
    c.isactive AS is_active,
    ifNull(latest.stock_on_hand, 0) AS stock_on_hand,
    latest.last_movement_date,
    {{ as_of }} AS as_of_date
FROM {{ ref('stg_stock_cards') }} AS c
LEFT JOIN latest ON latest.stock_card_id = c.id
LEFT JOIN {{ ref('mart_facility_directory') }} AS f ON f.facility_id = c.facilityid
LEFT JOIN {{ ref('stg_programs') }} AS p ON p.id = c.programid
LEFT JOIN {{ ref('int_orderables_current') }} AS o ON o.orderable_id = c.orderableid
LEFT JOIN {{ ref('stg_lots') }} AS l ON l.id = c.lotid
