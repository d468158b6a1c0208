-- Versions of requisition.status_changes rows (large table: incremental, ReplacingMergeTree; see olmis_cdc_versions).
-- Read it through stg_status_changes, never directly: it holds superseded versions and deletes.
{{ config(
    materialized='incremental',
    engine='ReplacingMergeTree(_version, _deleted)',
    order_by='id') }}

{{ olmis_cdc_versions(
    source('openlmis', 'events_requisition_status_changes'),
    keys=['id'],
    columns={
        'id': 'uuid',
        'requisitionid': 'uuid',
        'status': 'string',
        'createddate': 'timestamp'
    }) }}
