-- Current state of requisition.status_changes: the live version of each row in cdc_status_changes.
{{ config(materialized='view') }}

{{ olmis_live_rows(ref('cdc_status_changes')) }}
