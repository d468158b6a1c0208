-- Current state of requisition.requisition_line_items: the live version of each row in cdc_requisition_line_items.
{{ config(materialized='view') }}

{{ olmis_live_rows(ref('cdc_requisition_line_items')) }}
