-- Current state of referencedata.processing_periods (small table: recomputed from its whole event log on every run).
{{ config(order_by='id') }}

{{ olmis_current_state(
    source('openlmis', 'events_referencedata_processing_periods'),
    keys=['id'],
    columns={
        'id': 'uuid',
        'name': 'string',
        'startdate': 'date',
        'enddate': 'date',
        'processingscheduleid': 'uuid'
    }) }}
