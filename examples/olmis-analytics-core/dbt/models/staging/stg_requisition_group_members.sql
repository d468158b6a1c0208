-- Current state of referencedata.requisition_group_members (small table: recomputed from its whole event log on every run).
{{ config(order_by=['requisitiongroupid', 'facilityid']) }}

{{ olmis_current_state(
    source('openlmis', 'events_referencedata_requisition_group_members'),
    keys=['requisitiongroupid', 'facilityid'],
    columns={
        'requisitiongroupid': 'uuid',
        'facilityid': 'uuid'
    }) }}
