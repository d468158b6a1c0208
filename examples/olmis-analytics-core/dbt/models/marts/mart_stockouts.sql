-- Stockout episodes up to the as-of date: from the movement that left a stock card empty to the
-- next movement that put stock back (ended_on is NULL while the card is still empty). One row per
-- episode; its id is the line item that started it.
{%- set as_of = olmis_as_of_date() %}
{%- set card_order = 'PARTITION BY stock_card_id ORDER BY occurred_date, processed_at, line_item_id' %}

WITH flagged AS (
    SELECT
        stock_card_id,
        line_item_id,
        occurred_date,
        processed_at,
        toUInt8(stock_on_hand <= 0) AS is_empty,
        lagInFrame(toUInt8(stock_on_hand <= 0), 1, 0) OVER (
            {{ card_order }} ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS was_empty
    FROM {{ ref('int_stock_card_balances') }}
    WHERE occurred_date <= {{ as_of }}
),

-- runs of consecutive lines with the same emptiness, numbered per card
runs AS (
    SELECT
        *,
        sum(toUInt32(is_empty != was_empty)) OVER ({{ card_order }}
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS run_number
    FROM flagged
),

run_bounds AS (
    SELECT
        stock_card_id,
        run_number,
        any(is_empty) AS is_empty,
        min(occurred_date) AS started_on,
        argMin(line_item_id, (occurred_date, processed_at, line_item_id)) AS first_line_item_id
    FROM runs
    GROUP BY stock_card_id, run_number
),

episodes AS (
    SELECT
        empty.first_line_item_id AS stockout_id,
        empty.stock_card_id AS stock_card_id,
        empty.started_on AS started_on,
        refill.started_on AS ended_on
    FROM run_bounds AS empty
    LEFT JOIN run_bounds AS refill
        ON refill.stock_card_id = empty.stock_card_id AND refill.run_number = empty.run_number + 1
    WHERE empty.is_empty = 1
)

SELECT
    e.stockout_id,
    e.stock_card_id,
    s.facility_id,
    s.facility_code,
    s.facility_name,
    s.district_name,
    s.region_id,
    s.region_name,
    s.program_id,
    s.program_code,
    s.orderable_id,
    s.product_code,
    s.product_name,
    s.lot_id,
    e.started_on,
    e.ended_on,
    e.ended_on IS NULL AS is_ongoing,
    dateDiff('day', e.started_on, ifNull(e.ended_on, {{ as_of }})) AS days_stocked_out
FROM episodes AS e
LEFT JOIN {{ ref('mart_stock_on_hand') }} AS s ON s.stock_card_id = e.stock_card_id
