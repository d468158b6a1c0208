-- Stock status per facility, program and product (all lots together) as of the as-of date.
--
-- Average monthly consumption (AMC): the stock that left the product's cards (issues and debit
-- adjustments, not inventory corrections) in the consumption window before the as-of date, per
-- 30 days. Months of stock = stock on hand / AMC. Status: stocked_out (nothing on hand),
-- no_consumption (stock but no AMC), understocked (below the understocked threshold), overstocked
-- (above the overstocked threshold), else adequate. Thresholds are compared in integers, so a
-- product exactly at a threshold is classified the same everywhere.
{%- set as_of = olmis_as_of_date() %}
{%- set window_days = var('olmis_core_consumption_window_days') | int %}
{%- set under = var('olmis_core_understocked_below_months') | int %}
{%- set over = var('olmis_core_overstocked_above_months') | int %}

WITH on_hand AS (
    SELECT
        facility_id,
        program_id,
        orderable_id,
        any(facility_code) AS facility_code,
        any(facility_name) AS facility_name,
        any(district_name) AS district_name,
        any(region_id) AS region_id,
        any(region_name) AS region_name,
        any(program_code) AS program_code,
        any(product_code) AS product_code,
        any(product_name) AS product_name,
        count() AS stock_card_count,
        sum(stock_on_hand) AS stock_on_hand
    FROM {{ ref('mart_stock_on_hand') }}
    GROUP BY facility_id, program_id, orderable_id
),

issued AS (
    SELECT
        c.facilityid AS facility_id,
        c.programid AS program_id,
        c.orderableid AS orderable_id,
        sum(-b.signed_quantity) AS issued_quantity
    FROM {{ ref('int_stock_card_balances') }} AS b
    INNER JOIN {{ ref('stg_stock_cards') }} AS c ON c.id = b.stock_card_id
    WHERE b.signed_quantity < 0
      AND NOT b.is_physical_inventory
      AND b.occurred_date > {{ as_of }} - {{ window_days }}
      AND b.occurred_date <= {{ as_of }}
    GROUP BY c.facilityid, c.programid, c.orderableid
),

measured AS (
    SELECT
        on_hand.*,
        ifNull(issued.issued_quantity, 0) AS issued_quantity
    FROM on_hand
    LEFT JOIN issued
        ON issued.facility_id = on_hand.facility_id
        AND issued.program_id = on_hand.program_id
        AND issued.orderable_id = on_hand.orderable_id
)

SELECT
    facility_id,
    facility_code,
    facility_name,
    district_name,
    region_id,
    region_name,
    program_id,
    program_code,
    orderable_id,
    product_code,
    product_name,
    stock_card_count,
    stock_on_hand,
    issued_quantity AS issued_in_window,
    round(issued_quantity * 30 / {{ window_days }}, 2) AS average_monthly_consumption,
    if(issued_quantity > 0, round(stock_on_hand * {{ window_days }} / (issued_quantity * 30), 2), NULL) AS months_of_stock,
    multiIf(
        stock_on_hand <= 0, 'stocked_out',
        issued_quantity = 0, 'no_consumption',
        stock_on_hand * {{ window_days }} < {{ under }} * issued_quantity * 30, 'understocked',
        stock_on_hand * {{ window_days }} > {{ over }} * issued_quantity * 30, 'overstocked',
        'adequate') AS stock_status,
    {{ as_of }} AS as_of_date
FROM measured
