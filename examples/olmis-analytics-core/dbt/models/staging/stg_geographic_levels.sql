-- Current state of referencedata.geographic_levels (small table: recomputed from its whole event log on every run).
{{ config(order_by='id') }}

{{ olmis_current_state(
    source('openlmis', 'events_referencedata_geographic_levels'),
    keys=['id'],
    columns={
        'id': 'uuid',
        'code': 'string',
        'name': 'string',
        'levelnumber': 'int'
    }) }}
