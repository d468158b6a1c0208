-- Current state of referencedata.lots (small table: recomputed from its whole event log on every run).
{{ config(order_by='id') }}

{{ olmis_current_state(
    source('openlmis', 'events_referencedata_lots'),
    keys=['id'],
    columns={
        'id': 'uuid',
        'lotcode': 'string',
        'expirationdate': 'date',
        'tradeitemid': 'uuid',
        'active': 'bool'
    }) }}
