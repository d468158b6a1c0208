-- Current state of referencedata.program_orderables (small table: recomputed from its whole event log on every run).
{{ config(order_by='id') }}

{{ olmis_current_state(
    source('openlmis', 'events_referencedata_program_orderables'),
    keys=['id'],
    columns={
        'id': 'uuid',
        'programid': 'uuid',
        'orderableid': 'uuid',
        'orderableversionnumber': 'bigint',
        'active': 'bool',
        'fullsupply': 'bool',
        'priceperpack': 'decimal(19,2)'
    }) }}
