//! One struct per demo table, holding what the generator decides, and how each becomes a COPY row.
//! Columns not listed in a `COLUMNS` stay NULL (or take their default).

use super::calendar::{Date, Timestamp};
use super::copy::{Line, Row};
use super::random::Id;

macro_rules! table {
    ($ty:ty, $table:literal, [$($col:literal),+ $(,)?], |$s:ident, $w:ident| $body:expr) => {
        impl Row for $ty {
            const TABLE: &'static str = $table;
            const COLUMNS: &'static [&'static str] = &[$($col),+];
            fn write(&self, $w: &mut Line<'_>) {
                let $s = self;
                $body;
            }
        }
    };
}

// ---- referencedata ----------------------------------------------------------------------------

pub struct GeographicLevel {
    pub id: Id,
    pub code: &'static str,
    pub name: &'static str,
    pub levelnumber: i64,
}
table!(GeographicLevel, "referencedata.geographic_levels", ["id", "code", "name", "levelnumber"], |s, w| {
    w.id(s.id).text(s.code).text(s.name).int(s.levelnumber)
});

pub struct GeographicZone {
    pub id: Id,
    pub code: String,
    pub name: String,
    pub levelid: Id,
    pub parentid: Option<Id>,
    pub catchmentpopulation: i64,
    /// Degrees in units of 10^-5 (numeric(8,5)).
    pub latitude: i64,
    pub longitude: i64,
}
table!(
    GeographicZone,
    "referencedata.geographic_zones",
    ["id", "code", "name", "levelid", "parentid", "catchmentpopulation", "latitude", "longitude"],
    |s, w| w
        .id(s.id)
        .text(&s.code)
        .text(&s.name)
        .id(s.levelid)
        .opt_id(s.parentid)
        .int(s.catchmentpopulation)
        .decimal(s.latitude, 5)
        .decimal(s.longitude, 5)
);

pub struct FacilityType {
    pub id: Id,
    pub code: &'static str,
    pub name: &'static str,
    pub displayorder: i64,
}
table!(FacilityType, "referencedata.facility_types", ["id", "code", "name", "displayorder", "active"], |s, w| {
    w.id(s.id).text(s.code).text(s.name).int(s.displayorder).boolean(true)
});

pub struct FacilityOperator {
    pub id: Id,
    pub code: &'static str,
    pub name: &'static str,
    pub displayorder: i64,
}
table!(FacilityOperator, "referencedata.facility_operators", ["id", "code", "name", "displayorder"], |s, w| {
    w.id(s.id).text(s.code).text(s.name).int(s.displayorder)
});

pub struct Facility {
    pub id: Id,
    pub code: String,
    pub name: String,
    pub active: bool,
    pub enabled: bool,
    pub golivedate: Option<Date>,
    pub godowndate: Option<Date>,
    pub openlmisaccessible: bool,
    pub geographiczoneid: Id,
    pub typeid: Id,
    pub operatedbyid: Id,
}
table!(
    Facility,
    "referencedata.facilities",
    [
        "id",
        "code",
        "name",
        "active",
        "enabled",
        "golivedate",
        "godowndate",
        "openlmisaccessible",
        "geographiczoneid",
        "typeid",
        "operatedbyid"
    ],
    |s, w| w
        .id(s.id)
        .text(&s.code)
        .text(&s.name)
        .boolean(s.active)
        .boolean(s.enabled)
        .opt_date(s.golivedate)
        .opt_date(s.godowndate)
        .boolean(s.openlmisaccessible)
        .id(s.geographiczoneid)
        .id(s.typeid)
        .id(s.operatedbyid)
);

pub struct Program {
    pub id: Id,
    pub code: &'static str,
    pub name: &'static str,
    pub periodsskippable: bool,
    pub shownonfullsupplytab: bool,
    pub enabledatephysicalstockcountcompleted: bool,
}
table!(
    Program,
    "referencedata.programs",
    [
        "id",
        "code",
        "name",
        "description",
        "active",
        "periodsskippable",
        "shownonfullsupplytab",
        "enabledatephysicalstockcountcompleted",
        "skipauthorization"
    ],
    |s, w| w
        .id(s.id)
        .text(s.code)
        .text(s.name)
        .text(&format!("{} program", s.name))
        .boolean(true)
        .boolean(s.periodsskippable)
        .boolean(s.shownonfullsupplytab)
        .boolean(s.enabledatephysicalstockcountcompleted)
        .boolean(false)
);

pub struct Dispensable {
    pub id: Id,
    pub dispensingunit: &'static str,
    pub routeofadministration: &'static str,
}
table!(Dispensable, "referencedata.dispensables", ["id", "type", "dispensingunit", "routeofadministration"], |s, w| w
    .id(s.id)
    .text("default")
    .text(s.dispensingunit)
    .text(s.routeofadministration));

pub struct DisplayCategory {
    pub id: Id,
    pub code: &'static str,
    pub displayname: &'static str,
    pub displayorder: i64,
}
table!(
    DisplayCategory,
    "referencedata.orderable_display_categories",
    ["id", "code", "displayname", "displayorder"],
    |s, w| w.id(s.id).text(s.code).text(s.displayname).int(s.displayorder)
);

pub struct Orderable {
    pub id: Id,
    pub versionnumber: i64,
    pub code: String,
    pub fullproductname: String,
    pub packroundingthreshold: i64,
    pub netcontent: i64,
    pub roundtozero: bool,
    pub dispensableid: Id,
    pub lastupdated: Timestamp,
}
table!(
    Orderable,
    "referencedata.orderables",
    [
        "id",
        "versionnumber",
        "code",
        "fullproductname",
        "packroundingthreshold",
        "netcontent",
        "roundtozero",
        "dispensableid",
        "lastupdated"
    ],
    |s, w| w
        .id(s.id)
        .int(s.versionnumber)
        .text(&s.code)
        .text(&s.fullproductname)
        .int(s.packroundingthreshold)
        .int(s.netcontent)
        .boolean(s.roundtozero)
        .id(s.dispensableid)
        .timestamp(s.lastupdated)
);

pub struct OrderableIdentifier {
    pub orderableid: Id,
    pub orderableversionnumber: i64,
    pub key: &'static str,
    pub value: Id,
}
table!(
    OrderableIdentifier,
    "referencedata.orderable_identifiers",
    ["orderableid", "orderableversionnumber", "key", "value"],
    |s, w| w.id(s.orderableid).int(s.orderableversionnumber).text(s.key).id(s.value)
);

pub struct ProgramOrderable {
    pub id: Id,
    pub programid: Id,
    pub orderableid: Id,
    pub orderableversionnumber: i64,
    pub active: bool,
    pub displayorder: i64,
    pub dosespermonth: Option<i64>,
    pub fullsupply: bool,
    /// Hundredths of the currency unit.
    pub priceperpack: i64,
    pub orderabledisplaycategoryid: Id,
}
table!(
    ProgramOrderable,
    "referencedata.program_orderables",
    [
        "id",
        "programid",
        "orderableid",
        "orderableversionnumber",
        "active",
        "displayorder",
        "dosespermonth",
        "fullsupply",
        "priceperpack",
        "orderabledisplaycategoryid"
    ],
    |s, w| w
        .id(s.id)
        .id(s.programid)
        .id(s.orderableid)
        .int(s.orderableversionnumber)
        .boolean(s.active)
        .int(s.displayorder)
        .opt_int(s.dosespermonth)
        .boolean(s.fullsupply)
        .decimal(s.priceperpack, 2)
        .id(s.orderabledisplaycategoryid)
);

pub struct ApprovedProduct {
    pub id: Id,
    pub versionnumber: i64,
    pub orderableid: Id,
    pub programid: Id,
    pub facilitytypeid: Id,
    /// Periods of stock in tenths (double precision columns).
    pub maxperiodsofstock: i64,
    pub minperiodsofstock: i64,
    pub emergencyorderpoint: i64,
    pub lastupdated: Timestamp,
}
table!(
    ApprovedProduct,
    "referencedata.facility_type_approved_products",
    [
        "id",
        "versionnumber",
        "orderableid",
        "programid",
        "facilitytypeid",
        "maxperiodsofstock",
        "minperiodsofstock",
        "emergencyorderpoint",
        "active",
        "lastupdated"
    ],
    |s, w| w
        .id(s.id)
        .int(s.versionnumber)
        .id(s.orderableid)
        .id(s.programid)
        .id(s.facilitytypeid)
        .decimal(s.maxperiodsofstock, 1)
        .decimal(s.minperiodsofstock, 1)
        .decimal(s.emergencyorderpoint, 1)
        .boolean(true)
        .timestamp(s.lastupdated)
);

pub struct TradeItem {
    pub id: Id,
    pub manufacturer: &'static str,
    pub gtin: String,
}
table!(TradeItem, "referencedata.trade_items", ["id", "manufactureroftradeitem", "gtin"], |s, w| {
    w.id(s.id).text(s.manufacturer).text(&s.gtin)
});

pub struct Lot {
    pub id: Id,
    pub lotcode: String,
    pub expirationdate: Date,
    pub manufacturedate: Date,
    pub tradeitemid: Id,
}
table!(
    Lot,
    "referencedata.lots",
    ["id", "lotcode", "expirationdate", "manufacturedate", "tradeitemid", "active"],
    |s, w| w.id(s.id).text(&s.lotcode).date(s.expirationdate).date(s.manufacturedate).id(s.tradeitemid).boolean(true)
);

pub struct Schedule {
    pub id: Id,
    pub code: &'static str,
    pub name: &'static str,
    pub modifieddate: Timestamp,
}
table!(
    Schedule,
    "referencedata.processing_schedules",
    ["id", "code", "name", "description", "modifieddate"],
    |s, w| w.id(s.id).text(s.code).text(s.name).text(&format!("{} reporting", s.name)).timestamp(s.modifieddate)
);

pub struct Period {
    pub id: Id,
    pub name: String,
    pub description: String,
    pub startdate: Date,
    pub enddate: Date,
    pub processingscheduleid: Id,
}
table!(
    Period,
    "referencedata.processing_periods",
    ["id", "name", "description", "startdate", "enddate", "processingscheduleid"],
    |s, w| w.id(s.id).text(&s.name).text(&s.description).date(s.startdate).date(s.enddate).id(s.processingscheduleid)
);

pub struct User {
    pub id: Id,
    pub username: String,
    pub firstname: &'static str,
    pub lastname: &'static str,
    pub jobtitle: &'static str,
    pub homefacilityid: Id,
}
table!(
    User,
    "referencedata.users",
    ["id", "username", "firstname", "lastname", "jobtitle", "active", "homefacilityid"],
    |s, w| w
        .id(s.id)
        .text(&s.username)
        .text(s.firstname)
        .text(s.lastname)
        .text(s.jobtitle)
        .boolean(true)
        .id(s.homefacilityid)
);

pub struct SupervisoryNode {
    pub id: Id,
    pub code: String,
    pub name: String,
    pub facilityid: Id,
    pub parentid: Option<Id>,
}
table!(SupervisoryNode, "referencedata.supervisory_nodes", ["id", "code", "name", "facilityid", "parentid"], |s, w| w
    .id(s.id)
    .text(&s.code)
    .text(&s.name)
    .id(s.facilityid)
    .opt_id(s.parentid));

pub struct RequisitionGroup {
    pub id: Id,
    pub code: String,
    pub name: String,
    pub supervisorynodeid: Id,
}
table!(RequisitionGroup, "referencedata.requisition_groups", ["id", "code", "name", "supervisorynodeid"], |s, w| w
    .id(s.id)
    .text(&s.code)
    .text(&s.name)
    .id(s.supervisorynodeid));

pub struct GroupMember {
    pub requisitiongroupid: Id,
    pub facilityid: Id,
}
table!(GroupMember, "referencedata.requisition_group_members", ["requisitiongroupid", "facilityid"], |s, w| {
    w.id(s.requisitiongroupid).id(s.facilityid)
});

pub struct GroupSchedule {
    pub id: Id,
    pub requisitiongroupid: Id,
    pub programid: Id,
    pub processingscheduleid: Id,
}
table!(
    GroupSchedule,
    "referencedata.requisition_group_program_schedules",
    ["id", "requisitiongroupid", "programid", "processingscheduleid", "directdelivery"],
    |s, w| w.id(s.id).id(s.requisitiongroupid).id(s.programid).id(s.processingscheduleid).boolean(true)
);

pub struct SupportedProgram {
    pub facilityid: Id,
    pub programid: Id,
    pub active: bool,
    pub startdate: Date,
    pub locallyfulfilled: bool,
}
table!(
    SupportedProgram,
    "referencedata.supported_programs",
    ["facilityid", "programid", "active", "startdate", "locallyfulfilled"],
    |s, w| w.id(s.facilityid).id(s.programid).boolean(s.active).date(s.startdate).boolean(s.locallyfulfilled)
);

// ---- stock reasons, shared by stockmanagement and requisition -------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Credit,
    Debit,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Credit => "CREDIT",
            Direction::Debit => "DEBIT",
        }
    }

    /// +1 for stock coming in, -1 for stock going out.
    pub fn sign(self) -> i64 {
        match self {
            Direction::Credit => 1,
            Direction::Debit => -1,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Reason {
    pub id: Id,
    pub name: &'static str,
    pub direction: Direction,
    pub category: &'static str,
    pub freetext: bool,
}

/// The reason list as the stock management service holds it.
pub struct StockReason(pub Reason);
table!(
    StockReason,
    "stockmanagement.stock_card_line_item_reasons",
    ["id", "name", "description", "reasontype", "reasoncategory", "isfreetextallowed"],
    |s, w| w
        .id(s.0.id)
        .text(s.0.name)
        .text(s.0.name)
        .text(s.0.direction.as_str())
        .text(s.0.category)
        .boolean(s.0.freetext)
);

/// The same reasons as the requisition service copies them.
pub struct RequisitionReason(pub Reason);
table!(
    RequisitionReason,
    "requisition.stock_adjustment_reasons",
    ["id", "name", "description", "reasontype", "reasoncategory", "isfreetextallowed", "hidden"],
    |s, w| w
        .id(s.0.id)
        .text(s.0.name)
        .text(s.0.name)
        .text(s.0.direction.as_str())
        .text(s.0.category)
        .boolean(s.0.freetext)
        .boolean(false)
);

// ---- requisition ------------------------------------------------------------------------------

/// The requisition workflow's statuses (OpenLMIS v3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Initiated,
    Rejected,
    Submitted,
    Authorized,
    InApproval,
    Approved,
    Released,
    ReleasedWithoutOrder,
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Initiated => "INITIATED",
            Status::Rejected => "REJECTED",
            Status::Submitted => "SUBMITTED",
            Status::Authorized => "AUTHORIZED",
            Status::InApproval => "IN_APPROVAL",
            Status::Approved => "APPROVED",
            Status::Released => "RELEASED",
            Status::ReleasedWithoutOrder => "RELEASED_WITHOUT_ORDER",
            Status::Skipped => "SKIPPED",
        }
    }

    /// The statuses a requisition may move to from this one.
    pub fn next(self) -> &'static [Status] {
        use Status::*;
        match self {
            Initiated => &[Submitted, Skipped],
            Rejected => &[Submitted],
            Submitted => &[Authorized, Rejected],
            Authorized => &[InApproval, Approved, Rejected],
            InApproval => &[Approved, Rejected],
            Approved => &[Released, ReleasedWithoutOrder],
            Released | ReleasedWithoutOrder | Skipped => &[],
        }
    }

    /// Whether approvers have set approved quantities by this status.
    pub fn has_approved_quantities(self) -> bool {
        matches!(self, Status::InApproval | Status::Approved | Status::Released | Status::ReleasedWithoutOrder)
    }
}

pub struct Requisition {
    pub id: Id,
    pub facilityid: Id,
    pub programid: Id,
    pub processingperiodid: Id,
    pub status: Status,
    pub emergency: bool,
    pub numberofmonthsinperiod: i64,
    pub datephysicalstockcountcompleted: Option<Date>,
    pub supervisorynodeid: Option<Id>,
    pub createddate: Timestamp,
    pub modifieddate: Timestamp,
    pub version: i64,
}
table!(
    Requisition,
    "requisition.requisitions",
    [
        "id",
        "facilityid",
        "programid",
        "processingperiodid",
        "status",
        "emergency",
        "numberofmonthsinperiod",
        "datephysicalstockcountcompleted",
        "supervisorynodeid",
        "createddate",
        "modifieddate",
        "version"
    ],
    |s, w| w
        .id(s.id)
        .id(s.facilityid)
        .id(s.programid)
        .id(s.processingperiodid)
        .text(s.status.as_str())
        .boolean(s.emergency)
        .int(s.numberofmonthsinperiod)
        .opt_date(s.datephysicalstockcountcompleted)
        .opt_id(s.supervisorynodeid)
        .timestamp(s.createddate)
        .timestamp(s.modifieddate)
        .int(s.version)
);

/// The stock columns of a full-supply line (OpenLMIS' A to P); absent on skipped and
/// non-full-supply lines.
#[derive(Debug, Clone, Copy)]
pub struct StockColumns {
    pub beginningbalance: i64,
    pub totalreceivedquantity: i64,
    pub totalconsumedquantity: i64,
    pub totallossesandadjustments: i64,
    pub stockonhand: i64,
    pub totalstockoutdays: i64,
    pub adjustedconsumption: i64,
    pub averageconsumption: i64,
    /// Hundredths.
    pub maxperiodsofstock: i64,
    pub maximumstockquantity: i64,
    pub calculatedorderquantity: i64,
}

pub struct RequisitionLine {
    pub id: Id,
    pub requisitionid: Id,
    pub orderableid: Id,
    pub orderableversionnumber: i64,
    pub stock: Option<StockColumns>,
    pub requestedquantity: Option<i64>,
    pub requestedquantityexplanation: Option<&'static str>,
    pub approvedquantity: Option<i64>,
    pub packstoship: Option<i64>,
    pub priceperpack: i64,
    pub totalcost: Option<i64>,
    pub skipped: bool,
    pub nonfullsupply: bool,
}
table!(
    RequisitionLine,
    "requisition.requisition_line_items",
    [
        "id",
        "requisitionid",
        "orderableid",
        "orderableversionnumber",
        "beginningbalance",
        "totalreceivedquantity",
        "totalconsumedquantity",
        "totallossesandadjustments",
        "stockonhand",
        "totalstockoutdays",
        "total",
        "adjustedconsumption",
        "averageconsumption",
        "maxperiodsofstock",
        "maximumstockquantity",
        "calculatedorderquantity",
        "requestedquantity",
        "requestedquantityexplanation",
        "approvedquantity",
        "packstoship",
        "priceperpack",
        "totalcost",
        "skipped",
        "nonfullsupply"
    ],
    |s, w| {
        w.id(s.id).id(s.requisitionid).id(s.orderableid).int(s.orderableversionnumber);
        match &s.stock {
            Some(c) => w
                .int(c.beginningbalance)
                .int(c.totalreceivedquantity)
                .int(c.totalconsumedquantity)
                .int(c.totallossesandadjustments)
                .int(c.stockonhand)
                .int(c.totalstockoutdays)
                .int(c.beginningbalance + c.totalreceivedquantity)
                .int(c.adjustedconsumption)
                .int(c.averageconsumption)
                .decimal(c.maxperiodsofstock, 2)
                .int(c.maximumstockquantity)
                .int(c.calculatedorderquantity),
            None => w.null().null().null().null().null().null().null().null().null().null().null().null(),
        };
        w.opt_int(s.requestedquantity)
            .opt_text(s.requestedquantityexplanation)
            .opt_int(s.approvedquantity)
            .opt_int(s.packstoship)
            .decimal(s.priceperpack, 2)
            .opt_decimal(s.totalcost, 2)
            .boolean(s.skipped)
            .boolean(s.nonfullsupply)
    }
);

pub struct StatusChange {
    pub id: Id,
    pub requisitionid: Id,
    pub status: Status,
    pub createddate: Timestamp,
    pub authorid: Id,
    pub supervisorynodeid: Option<Id>,
}
table!(
    StatusChange,
    "requisition.status_changes",
    ["id", "requisitionid", "status", "createddate", "authorid", "supervisorynodeid"],
    |s, w| w
        .id(s.id)
        .id(s.requisitionid)
        .text(s.status.as_str())
        .timestamp(s.createddate)
        .id(s.authorid)
        .opt_id(s.supervisorynodeid)
);

pub struct StockAdjustment {
    pub id: Id,
    pub reasonid: Id,
    pub quantity: i64,
    pub requisitionlineitemid: Id,
}
table!(
    StockAdjustment,
    "requisition.stock_adjustments",
    ["id", "reasonid", "quantity", "requisitionlineitemid"],
    |s, w| w.id(s.id).id(s.reasonid).int(s.quantity).id(s.requisitionlineitemid)
);

// ---- stockmanagement --------------------------------------------------------------------------

pub struct Node {
    pub id: Id,
    pub referenceid: Id,
}
table!(Node, "stockmanagement.nodes", ["id", "referenceid", "isrefdatafacility"], |s, w| {
    w.id(s.id).id(s.referenceid).boolean(true)
});

pub struct StockEvent {
    pub id: Id,
    pub facilityid: Id,
    pub programid: Id,
    pub processeddate: Timestamp,
    pub userid: Id,
    pub documentnumber: String,
}
table!(
    StockEvent,
    "stockmanagement.stock_events",
    ["id", "facilityid", "programid", "processeddate", "userid", "documentnumber"],
    |s, w| w.id(s.id).id(s.facilityid).id(s.programid).timestamp(s.processeddate).id(s.userid).text(&s.documentnumber)
);

pub struct StockCard {
    pub id: Id,
    pub facilityid: Id,
    pub programid: Id,
    pub orderableid: Id,
    pub lotid: Option<Id>,
    pub origineventid: Id,
}
table!(
    StockCard,
    "stockmanagement.stock_cards",
    ["id", "facilityid", "programid", "orderableid", "lotid", "origineventid", "isactive"],
    |s, w| w
        .id(s.id)
        .id(s.facilityid)
        .id(s.programid)
        .id(s.orderableid)
        .opt_id(s.lotid)
        .id(s.origineventid)
        .boolean(true)
);

pub struct StockLine {
    pub id: Id,
    pub stockcardid: Id,
    pub origineventid: Id,
    pub quantity: i64,
    pub reasonid: Option<Id>,
    pub sourceid: Option<Id>,
    pub destinationid: Option<Id>,
    pub occurreddate: Date,
    pub processeddate: Timestamp,
    pub userid: Id,
    /// The stock on hand after this line (not a column: kept for the calculated stock and checks).
    pub stock_after: i64,
}
table!(
    StockLine,
    "stockmanagement.stock_card_line_items",
    [
        "id",
        "stockcardid",
        "origineventid",
        "quantity",
        "reasonid",
        "sourceid",
        "destinationid",
        "occurreddate",
        "processeddate",
        "userid"
    ],
    |s, w| w
        .id(s.id)
        .id(s.stockcardid)
        .id(s.origineventid)
        .int(s.quantity)
        .opt_id(s.reasonid)
        .opt_id(s.sourceid)
        .opt_id(s.destinationid)
        .date(s.occurreddate)
        .timestamp(s.processeddate)
        .id(s.userid)
);

pub struct StockOnHand {
    pub id: Id,
    pub stockcardid: Id,
    pub stockonhand: i64,
    pub occurreddate: Date,
    pub processeddate: Timestamp,
}
table!(
    StockOnHand,
    "stockmanagement.calculated_stocks_on_hand",
    ["id", "stockcardid", "stockonhand", "occurreddate", "processeddate"],
    |s, w| w.id(s.id).id(s.stockcardid).int(s.stockonhand).date(s.occurreddate).timestamp(s.processeddate)
);

// ---- fulfillment ------------------------------------------------------------------------------

pub struct Order {
    pub id: Id,
    pub externalid: Id,
    pub emergency: bool,
    pub facilityid: Id,
    pub processingperiodid: Id,
    pub programid: Id,
    pub supplyingfacilityid: Id,
    pub ordercode: String,
    pub status: &'static str,
    pub quotedcost: i64,
    pub createddate: Timestamp,
    pub createdbyid: Id,
    pub lastupdateddate: Timestamp,
}
table!(
    Order,
    "fulfillment.orders",
    [
        "id",
        "externalid",
        "emergency",
        "facilityid",
        "processingperiodid",
        "programid",
        "requestingfacilityid",
        "receivingfacilityid",
        "supplyingfacilityid",
        "ordercode",
        "status",
        "quotedcost",
        "createddate",
        "createdbyid",
        "lastupdateddate",
        "lastupdaterid"
    ],
    |s, w| w
        .id(s.id)
        .id(s.externalid)
        .boolean(s.emergency)
        .id(s.facilityid)
        .id(s.processingperiodid)
        .id(s.programid)
        .id(s.facilityid)
        .id(s.facilityid)
        .id(s.supplyingfacilityid)
        .text(&s.ordercode)
        .text(s.status)
        .decimal(s.quotedcost, 2)
        .timestamp(s.createddate)
        .id(s.createdbyid)
        .timestamp(s.lastupdateddate)
        .id(s.createdbyid)
);

pub struct OrderLine {
    pub id: Id,
    pub orderid: Id,
    pub orderableid: Id,
    pub orderableversionnumber: i64,
    pub orderedquantity: i64,
}
table!(
    OrderLine,
    "fulfillment.order_line_items",
    ["id", "orderid", "orderableid", "orderableversionnumber", "orderedquantity"],
    |s, w| w.id(s.id).id(s.orderid).id(s.orderableid).int(s.orderableversionnumber).int(s.orderedquantity)
);

pub struct Shipment {
    pub id: Id,
    pub orderid: Id,
    pub shippedbyid: Id,
    pub shippeddate: Timestamp,
}
table!(Shipment, "fulfillment.shipments", ["id", "orderid", "shippedbyid", "shippeddate"], |s, w| {
    w.id(s.id).id(s.orderid).id(s.shippedbyid).timestamp(s.shippeddate)
});

pub struct ShipmentLine {
    pub id: Id,
    pub shipmentid: Id,
    pub orderableid: Id,
    pub orderableversionnumber: i64,
    pub lotid: Option<Id>,
    pub quantityshipped: i64,
}
table!(
    ShipmentLine,
    "fulfillment.shipment_line_items",
    ["id", "shipmentid", "orderableid", "orderableversionnumber", "lotid", "quantityshipped"],
    |s, w| w
        .id(s.id)
        .id(s.shipmentid)
        .id(s.orderableid)
        .int(s.orderableversionnumber)
        .opt_id(s.lotid)
        .int(s.quantityshipped)
);

pub struct ProofOfDelivery {
    pub id: Id,
    pub shipmentid: Id,
    pub confirmed: bool,
    pub deliveredby: String,
    pub receivedby: String,
    pub receiveddate: Option<Date>,
}
table!(
    ProofOfDelivery,
    "fulfillment.proofs_of_delivery",
    ["id", "shipmentid", "status", "deliveredby", "receivedby", "receiveddate"],
    |s, w| w
        .id(s.id)
        .id(s.shipmentid)
        .text(if s.confirmed { "CONFIRMED" } else { "INITIATED" })
        .opt_text(s.confirmed.then_some(s.deliveredby.as_str()))
        .opt_text(s.confirmed.then_some(s.receivedby.as_str()))
        .opt_date(s.receiveddate)
);

pub struct ProofOfDeliveryLine {
    pub id: Id,
    pub proofofdeliveryid: Id,
    pub orderableid: Id,
    pub orderableversionnumber: i64,
    pub lotid: Option<Id>,
    pub quantityaccepted: Option<i64>,
    pub quantityrejected: Option<i64>,
}
table!(
    ProofOfDeliveryLine,
    "fulfillment.proof_of_delivery_line_items",
    [
        "id",
        "proofofdeliveryid",
        "orderableid",
        "orderableversionnumber",
        "lotid",
        "quantityaccepted",
        "quantityrejected"
    ],
    |s, w| w
        .id(s.id)
        .id(s.proofofdeliveryid)
        .id(s.orderableid)
        .int(s.orderableversionnumber)
        .opt_id(s.lotid)
        .opt_int(s.quantityaccepted)
        .opt_int(s.quantityrejected)
);
