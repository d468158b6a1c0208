-- Current state of referencedata.orderables (small table: recomputed from its whole event log on every run).
{{ config(order_by=['id', 'versionnumber']) }}

{{ olmis_current_state(
    source('openlmis', 'events_referencedata_orderables'),
    keys=['id', 'versionnumber'],
    columns={
        'id': 'uuid',
        'versionnumber': 'bigint',
        'code': 'string',
        'fullproductname': 'string',
        'netcontent': 'bigint',
        'dispensableid': 'uuid',
        'lastupdated': 'timestamp'
    }) }}
