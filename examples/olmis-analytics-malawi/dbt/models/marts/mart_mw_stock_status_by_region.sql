-- Stock status of Malawi's regions (Northern, Central, Southern): per region, program and
-- product, how many facilities hold the product and how many of them are stocked out,
-- understocked, adequately stocked or overstocked, from the core package's mart_stock_status.
-- Facilities outside any region are grouped under 'Unknown region'.
SELECT
    ifNull(region_id, toUUID('00000000-0000-0000-0000-000000000000')) AS region_id,
    ifNull(any(region_name), 'Unknown region') AS region_name,
    program_id,
    any(program_code) AS program_code,
    orderable_id,
    any(product_code) AS product_code,
    any(product_name) AS product_name,
    count() AS facility_count,
    countIf(stock_status = 'stocked_out') AS stocked_out_count,
    countIf(stock_status = 'understocked') AS understocked_count,
    countIf(stock_status = 'adequate') AS adequate_count,
    countIf(stock_status = 'overstocked') AS overstocked_count,
    countIf(stock_status = 'no_consumption') AS no_consumption_count,
    round(countIf(stock_status = 'stocked_out') / count(), 4) AS stockout_rate,
    sum(stock_on_hand) AS stock_on_hand,
    any(as_of_date) AS as_of_date
FROM {{ ref('mart_stock_status') }}
GROUP BY region_id, program_id, orderable_id
