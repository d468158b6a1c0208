-- Current state of stockmanagement.stock_cards (small table: recomputed from its whole event log on every run).
{{ config(order_by='id') }}

{{ olmis_current_state(
    source('openlmis', 'events_stockmanagement_stock_cards'),
    keys=['id'],
    columns={
        'id': 'uuid',
        'facilityid': 'uuid',
        'programid': 'uuid',
        'orderableid': 'uuid',
        'lotid': 'uuid',
        'isactive': 'bool'
    }) }}
