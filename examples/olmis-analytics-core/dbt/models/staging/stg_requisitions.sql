-- Current state of requisition.requisitions: the live version of each row in cdc_requisitions.
{{ config(materialized='view') }}

{{ olmis_live_rows(ref('cdc_requisitions')) }}
