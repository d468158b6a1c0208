-- Current state of referencedata.facility_types (small table: recomputed from its whole event log on every run).
{{ config(order_by='id') }}

{{ olmis_current_state(
    source('openlmis', 'events_referencedata_facility_types'),
    keys=['id'],
    columns={
        'id': 'uuid',
        'code': 'string',
        'name': 'string',
        'active': 'bool'
    }) }}
