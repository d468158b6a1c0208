-- Current state of referencedata.geographic_zones (small table: recomputed from its whole event log on every run).
{{ config(order_by='id') }}

{{ olmis_current_state(
    source('openlmis', 'events_referencedata_geographic_zones'),
    keys=['id'],
    columns={
        'id': 'uuid',
        'code': 'string',
        'name': 'string',
        'levelid': 'uuid',
        'parentid': 'uuid',
        'catchmentpopulation': 'int',
        'latitude': 'decimal(8,5)',
        'longitude': 'decimal(8,5)'
    }) }}
