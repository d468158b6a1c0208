-- Every stock card line item with its direction and the stock on hand after it.
--
-- quantity is unsigned: a line adds stock when it has a source or a CREDIT reason, removes it when
-- it has a destination or a DEBIT reason; a line with no source, destination or reason is a
-- physical inventory and sets stock on hand to its quantity. Lines are ordered as OpenLMIS orders
-- a stock card: occurred date, then processed date (then id, to be deterministic). Stock on hand
-- after a line = the last physical inventory up to it + the signed quantities since.
WITH lines AS (
    SELECT
        li.id AS line_item_id,
        li.stockcardid AS stock_card_id,
        li.occurreddate AS occurred_date,
        li.processeddate AS processed_at,
        li.quantity AS quantity,
        li.reasonid AS reason_id,
        li.sourceid AS source_id,
        li.destinationid AS destination_id,
        r.reasontype AS reason_type,
        li.sourceid IS NULL AND li.destinationid IS NULL AND li.reasonid IS NULL AS is_physical_inventory,
        multiIf(
            li.sourceid IS NOT NULL OR r.reasontype = 'CREDIT', ifNull(li.quantity, 0),
            li.destinationid IS NOT NULL OR r.reasontype = 'DEBIT', -ifNull(li.quantity, 0),
            0) AS signed_quantity
    FROM {{ ref('stg_stock_card_line_items') }} AS li
    LEFT JOIN {{ ref('stg_stock_card_line_item_reasons') }} AS r ON r.id = li.reasonid
),

counted AS (
    SELECT
        *,
        -- the number of physical inventories up to and including this line: lines with the same
        -- count share a starting point
        sum(toUInt32(is_physical_inventory)) OVER (
            PARTITION BY stock_card_id ORDER BY occurred_date, processed_at, line_item_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS inventory_count,
        row_number() OVER (
            PARTITION BY stock_card_id ORDER BY occurred_date, processed_at, line_item_id) AS line_number
    FROM lines
)

SELECT
    line_item_id,
    stock_card_id,
    line_number,
    occurred_date,
    processed_at,
    quantity,
    signed_quantity,
    is_physical_inventory,
    reason_id,
    reason_type,
    source_id,
    destination_id,
    sum(if(is_physical_inventory, ifNull(quantity, 0), signed_quantity)) OVER (
        PARTITION BY stock_card_id, inventory_count ORDER BY occurred_date, processed_at, line_item_id
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS stock_on_hand
FROM counted
