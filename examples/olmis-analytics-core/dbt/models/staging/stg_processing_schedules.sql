-- Current state of referencedata.processing_schedules (small table: recomputed from its whole event log on every run).
{{ config(order_by='id') }}

{{ olmis_current_state(
    source('openlmis', 'events_referencedata_processing_schedules'),
    keys=['id'],
    columns={
        'id': 'uuid',
        'code': 'string',
        'name': 'string'
    }) }}
