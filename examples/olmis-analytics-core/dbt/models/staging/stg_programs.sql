-- Current state of referencedata.programs (small table: recomputed from its whole event log on every run).
{{ config(order_by='id') }}

{{ olmis_current_state(
    source('openlmis', 'events_referencedata_programs'),
    keys=['id'],
    columns={
        'id': 'uuid',
        'code': 'string',
        'name': 'string',
        'active': 'bool',
        'periodsskippable': 'bool'
    }) }}
