-- Current state of referencedata.facilities (small table: recomputed from its whole event log on every run).
{{ config(order_by='id') }}

{{ olmis_current_state(
    source('openlmis', 'events_referencedata_facilities'),
    keys=['id'],
    columns={
        'id': 'uuid',
        'code': 'string',
        'name': 'string',
        'description': 'string',
        'active': 'bool',
        'enabled': 'bool',
        'golivedate': 'date',
        'godowndate': 'date',
        'geographiczoneid': 'uuid',
        'typeid': 'uuid',
        'operatedbyid': 'uuid'
    }) }}
