-- Current state of stockmanagement.stock_card_line_items: the live version of each row in cdc_stock_card_line_items.
{{ config(materialized='view') }}

{{ olmis_live_rows(ref('cdc_stock_card_line_items')) }}
