-- Current state of stockmanagement.stock_card_line_item_reasons (small table: recomputed from its whole event log on every run).
{{ config(order_by='id') }}

{{ olmis_current_state(
    source('openlmis', 'events_stockmanagement_stock_card_line_item_reasons'),
    keys=['id'],
    columns={
        'id': 'uuid',
        'name': 'string',
        'reasontype': 'string',
        'reasoncategory': 'string'
    }) }}
