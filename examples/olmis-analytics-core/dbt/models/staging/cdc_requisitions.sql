-- Versions of requisition.requisitions rows (large table: incremental, ReplacingMergeTree; see olmis_cdc_versions).
-- Read it through stg_requisitions, never directly: it holds superseded versions and deletes.
{{ config(
    materialized='incremental',
    engine='ReplacingMergeTree(_version, _deleted)',
    order_by='id') }}

{{ olmis_cdc_versions(
    source('openlmis', 'events_requisition_requisitions'),
    keys=['id'],
    columns={
        'id': 'uuid',
        'facilityid': 'uuid',
        'programid': 'uuid',
        'processingperiodid': 'uuid',
        'status': 'string',
        'emergency': 'bool',
        'reportonly': 'bool',
        'numberofmonthsinperiod': 'int',
        'supervisorynodeid': 'uuid',
        'createddate': 'timestamp',
        'modifieddate': 'timestamp'
    }) }}
