//! Requisitions and what follows them: for each reporting facility and program, one requisition
//! per period through the workflow (cut at the demo's "today"), with line items whose stock columns
//! chain from period to period, and for released requisitions the order, shipment and proof of
//! delivery whose accepted quantities arrive as the next periods' receipts.

use super::reference::{Product, Reference};
use super::{AS_OF, end_of_demo, reason};
use crate::demo::calendar::{Date, Timestamp};
use crate::demo::names;
use crate::demo::random::{Draw, Id};
use crate::demo::rows::*;

#[derive(Default)]
pub struct Requisitions {
    pub requisitions: Vec<Requisition>,
    pub lines: Vec<RequisitionLine>,
    pub status_changes: Vec<StatusChange>,
    pub adjustments: Vec<StockAdjustment>,
    pub orders: Vec<Order>,
    pub order_lines: Vec<OrderLine>,
    pub shipments: Vec<Shipment>,
    pub shipment_lines: Vec<ShipmentLine>,
    pub pods: Vec<ProofOfDelivery>,
    pub pod_lines: Vec<ProofOfDeliveryLine>,
}

/// One product's stock at one facility, carried across periods.
struct Chain {
    stock: i64,
    /// Adjusted consumption of the reported periods, newest last.
    history: Vec<i64>,
    /// Deliveries not yet counted: (date received, units).
    pending: Vec<(Date, i64)>,
    /// Mean consumption per month at this facility.
    demand: f64,
}

impl Chain {
    /// Units delivered up to `date`, removed from the pending list.
    fn receive(&mut self, date: Date) -> i64 {
        let (arrived, later): (Vec<_>, Vec<_>) = self.pending.iter().partition(|(at, _)| *at <= date);
        self.pending = later;
        arrived.iter().map(|(_, units)| units).sum()
    }
}

/// Who does what in the workflow, for one facility.
struct Actors {
    clerk: Id,
    approver: Id,
    regional_approver: Id,
    store_manager: Id,
    district_node: Id,
    region_node: Id,
}

struct Step {
    status: Status,
    at: Timestamp,
    author: Id,
    node: Option<Id>,
}

pub fn generate(seed: u64, r: &Reference) -> Requisitions {
    let mut d = Draw::stream(seed, "requisitions");
    let mut out = Requisitions::default();
    let monthly: Vec<_> = r.monthly_periods.iter().filter(|p| p.end <= AS_OF).collect();
    let quarterly: Vec<_> = r.quarterly_periods.iter().filter(|p| p.end <= AS_OF).collect();
    let monthly = &monthly[monthly.len().saturating_sub(12)..];
    let quarterly = &quarterly[quarterly.len().saturating_sub(4)..];
    let administrator = r.users[0].id;
    for &facility in &r.reporting {
        let info = &r.facility_info[facility];
        let Some(&clerk) = r.clerk.get(&facility) else { continue };
        let actors = Actors {
            clerk,
            approver: r.approver[info.district],
            regional_approver: administrator,
            store_manager: r.store_manager[info.district],
            district_node: r.district_node[info.district],
            region_node: r.region_node_of_district[info.district],
        };
        let mut programs = info.programs.clone();
        d.shuffle(&mut programs);
        programs.truncate(3);
        programs.sort_unstable();
        for program in programs {
            let core = &r.core[program];
            let mut chains: Vec<Chain> = core
                .iter()
                .map(|p| {
                    let demand = p.monthly_demand * info.kind.size() * d.around_one(0.3);
                    Chain {
                        stock: (demand * d.uniform(1.0, 3.0)) as i64,
                        history: Vec::new(),
                        pending: Vec::new(),
                        demand,
                    }
                })
                .collect();
            let periods = if r.program_info[program].monthly { monthly } else { quarterly };
            for period in periods {
                let context =
                    Context { r, facility, program, period_id: period.id, start: period.start, end: period.end };
                let months = if r.program_info[program].monthly { 1 } else { 3 };
                let roll = d.unit();
                if roll < 0.08 {
                    // Not reported: the stock still moves.
                    for chain in &mut chains {
                        let demand = monthly_demand(&mut d, chain, program, period.start, months);
                        let available = chain.stock + chain.receive(period.end);
                        chain.stock = available - demand.min(available);
                    }
                    continue;
                }
                let skipped = r.program_info[program].skippable && roll < 0.12;
                regular(&mut d, &mut out, &context, &actors, core, &mut chains, skipped);
                if !skipped && d.chance(0.03) {
                    emergency(&mut d, &mut out, &context, &actors, core, &mut chains);
                }
            }
        }
    }
    out
}

struct Context<'a> {
    r: &'a Reference,
    facility: usize,
    program: usize,
    period_id: Id,
    start: Date,
    end: Date,
}

fn monthly_demand(d: &mut Draw, chain: &Chain, program: usize, start: Date, months: i64) -> i64 {
    // Malaria peaks in the rainy season (November to April).
    let season = if program == 6 { if matches!(start.month(), 11 | 12 | 1..=4) { 1.5 } else { 0.7 } } else { 1.0 };
    (chain.demand * months as f64 * season * d.around_one(0.35)).round().max(0.0) as i64
}

/// Packs to ship for a quantity: OpenLMIS rounds up when the remainder exceeds the threshold, and
/// never ships zero packs for a positive quantity unless the product rounds to zero.
pub fn packs_to_ship(quantity: i64, product: &Product) -> i64 {
    if quantity <= 0 {
        return 0;
    }
    let packs = quantity / product.netcontent;
    let remainder = quantity % product.netcontent;
    let packs = if remainder > product.packroundingthreshold { packs + 1 } else { packs };
    if packs == 0 && !product.roundtozero { 1 } else { packs }
}

/// The workflow this requisition goes through, with times, cut at the end of the demo.
fn timeline(d: &mut Draw, initiated: Timestamp, actors: &Actors, skipped: bool, emergency: bool) -> Vec<Step> {
    use Status::*;
    let mut path = vec![Initiated];
    if skipped {
        path.push(Skipped);
    } else {
        path.push(Submitted);
        if !emergency && d.chance(0.06) {
            path.extend([Authorized, Rejected, Submitted]);
        }
        path.push(Authorized);
        let two_levels = !emergency && d.chance(0.7);
        if two_levels {
            path.push(InApproval);
        }
        path.push(Approved);
        path.push(if d.chance(0.1) { ReleasedWithoutOrder } else { Released });
    }
    let two_levels = path.contains(&InApproval);
    let mut steps: Vec<Step> = Vec::new();
    let mut at = initiated;
    for (i, &status) in path.iter().enumerate() {
        if i > 0 {
            let (lo, hi) = match status {
                Skipped => (0, 0),
                Submitted if path[i - 1] == Rejected => (1, 5),
                Submitted | InApproval => (0, 2),
                Authorized => (1, 3),
                Rejected => (1, 4),
                Approved => (1, 6),
                _ => (1, 4),
            };
            let stall = if d.chance(0.03) { d.between(15, 60) } else { 0 };
            let (lo, hi) = if emergency { (0, 1) } else { (lo, hi) };
            let date = at.date().add_days((d.between(lo, hi) + stall) as i32);
            let candidate = d.office_time(date);
            at = if candidate > at { candidate } else { at.plus_seconds(d.between(600, 7_200)) };
        }
        if at > end_of_demo() {
            break;
        }
        let (author, node) = match status {
            Initiated | Submitted | Skipped => (actors.clerk, None),
            Authorized => (actors.clerk, Some(actors.district_node)),
            Rejected => (actors.approver, None),
            InApproval => (actors.approver, Some(actors.region_node)),
            Approved if two_levels => (actors.regional_approver, Some(actors.region_node)),
            Approved => (actors.approver, Some(actors.district_node)),
            Released | ReleasedWithoutOrder => {
                (actors.store_manager, Some(if two_levels { actors.region_node } else { actors.district_node }))
            }
        };
        steps.push(Step { status, at, author, node });
    }
    steps
}

fn record(out: &mut Requisitions, d: &mut Draw, requisition: Id, steps: &[Step]) {
    for step in steps {
        out.status_changes.push(StatusChange {
            id: d.id(),
            requisitionid: requisition,
            status: step.status,
            createddate: step.at,
            authorid: step.author,
            supervisorynodeid: step.node,
        });
    }
}

/// A regular requisition (or a skipped one) for one period.
fn regular(
    d: &mut Draw,
    out: &mut Requisitions,
    c: &Context<'_>,
    actors: &Actors,
    core: &[Product],
    chains: &mut [Chain],
    skipped: bool,
) {
    let r = c.r;
    let id = d.id();
    let initiated = d.office_time_between(c.end.add_days(-4), c.end);
    let steps = timeline(d, initiated, actors, skipped, false);
    let Some(last) = steps.last() else { return };
    let status = last.status;
    let period_days = i64::from(c.end.0 - c.start.0 + 1);
    let months = if r.program_info[c.program].monthly { 1 } else { 3 };
    let max_tenths = r.facility_info[c.facility].kind.max_periods_tenths();
    let mut cost = Vec::new();
    for (index, (product, chain)) in core.iter().zip(chains.iter_mut()).enumerate() {
        let line_id = d.id();
        let demand = monthly_demand(d, chain, c.program, c.start, months);
        let beginning = chain.stock;
        let received = chain.receive(initiated.date());
        let available = beginning + received;
        let consumed = demand.min(available);
        let stockout_days = if demand > available && demand > 0 {
            (period_days * (demand - consumed) / demand).clamp(1, period_days - 1)
        } else {
            0
        };
        let mut losses = 0;
        if !skipped && d.chance(0.15) {
            let remaining = available - consumed;
            let (reason_index, quantity) = if remaining > 0 && d.chance(0.8) {
                let reason = *d.pick(&[reason::DAMAGE, reason::EXPIRED, reason::LOST, reason::STOLEN]);
                (reason, d.between(1, (remaining / 10).max(1)))
            } else {
                (*d.pick(&[reason::FACILITY_RETURN, reason::TRANSFER_IN]), d.between(1, (demand / 10).max(1)))
            };
            let reason = &r.reasons[reason_index];
            losses += reason.direction.sign() * quantity;
            out.adjustments.push(StockAdjustment {
                id: d.id(),
                reasonid: reason.id,
                quantity,
                requisitionlineitemid: line_id,
            });
        }
        let stock = available - consumed + losses;
        chain.stock = stock;
        if skipped {
            out.lines.push(RequisitionLine {
                id: line_id,
                requisitionid: id,
                orderableid: product.id,
                orderableversionnumber: product.version,
                stock: None,
                requestedquantity: None,
                requestedquantityexplanation: None,
                approvedquantity: None,
                packstoship: None,
                priceperpack: product.price,
                totalcost: None,
                skipped: true,
                nonfullsupply: false,
            });
            continue;
        }
        let adjusted = if stockout_days > 0 && consumed > 0 {
            let open = period_days - stockout_days;
            (consumed * period_days + open / 2) / open
        } else {
            consumed
        };
        chain.history.push(adjusted);
        let recent = &chain.history[chain.history.len().saturating_sub(3)..];
        let average = (recent.iter().sum::<i64>() + recent.len() as i64 / 2) / recent.len() as i64;
        let maximum = average * max_tenths / 10;
        let calculated = (maximum - stock).max(0);
        let (requested, explanation) = if d.chance(0.3) {
            let explanations = [
                "Expected increase in demand",
                "Outreach campaign planned",
                "Buffer for the rainy season",
                "Stock expiring soon",
            ];
            ((calculated as f64 * d.around_one(0.3)).round() as i64, Some(*d.pick(&explanations)))
        } else {
            (calculated, None)
        };
        let approved = status
            .has_approved_quantities()
            .then(|| if d.chance(0.75) { requested } else { (requested as f64 * d.uniform(0.7, 1.0)).round() as i64 });
        let packs = packs_to_ship(approved.unwrap_or(requested), product);
        out.lines.push(RequisitionLine {
            id: line_id,
            requisitionid: id,
            orderableid: product.id,
            orderableversionnumber: product.version,
            stock: Some(StockColumns {
                beginningbalance: beginning,
                totalreceivedquantity: received,
                totalconsumedquantity: consumed,
                totallossesandadjustments: losses,
                stockonhand: stock,
                totalstockoutdays: stockout_days,
                adjustedconsumption: adjusted,
                averageconsumption: average,
                maxperiodsofstock: if average > 0 { stock * 100 / average } else { 0 },
                maximumstockquantity: maximum,
                calculatedorderquantity: calculated,
            }),
            requestedquantity: Some(requested),
            requestedquantityexplanation: explanation,
            approvedquantity: approved,
            packstoship: Some(packs),
            priceperpack: product.price,
            totalcost: Some(packs * product.price),
            skipped: false,
            nonfullsupply: false,
        });
        cost.push((product.clone(), packs, Some(index)));
    }
    // Now and then a product outside the full-supply list, requested with a reason.
    let extras = &r.non_full_supply[c.program];
    if !skipped && !extras.is_empty() && d.chance(0.1) {
        let product = d.pick(extras).clone();
        let requested = d.between(10, 200);
        let approved = status.has_approved_quantities().then_some(requested);
        let packs = packs_to_ship(approved.unwrap_or(requested), &product);
        out.lines.push(RequisitionLine {
            id: d.id(),
            requisitionid: id,
            orderableid: product.id,
            orderableversionnumber: product.version,
            stock: None,
            requestedquantity: Some(requested),
            requestedquantityexplanation: Some("Prescribed by the clinician"),
            approvedquantity: approved,
            packstoship: Some(packs),
            priceperpack: product.price,
            totalcost: Some(packs * product.price),
            skipped: false,
            nonfullsupply: true,
        });
        cost.push((product, packs, None));
    }
    finish(d, out, c, actors, id, false, &steps, &cost, chains);
}

/// An emergency requisition for a few products, besides the regular one.
fn emergency(
    d: &mut Draw,
    out: &mut Requisitions,
    c: &Context<'_>,
    actors: &Actors,
    core: &[Product],
    chains: &mut [Chain],
) {
    let id = d.id();
    let initiated = d.office_time_between(c.start, c.end);
    let steps = timeline(d, initiated, actors, false, true);
    let Some(last) = steps.last() else { return };
    let status = last.status;
    let count = d.between(1, 3.min(core.len() as i64)) as usize;
    let mut picks: Vec<usize> = (0..core.len()).collect();
    d.shuffle(&mut picks);
    picks.truncate(count);
    picks.sort_unstable();
    let mut cost = Vec::new();
    for index in picks {
        let product = &core[index];
        let requested = (chains[index].demand * d.uniform(0.5, 1.5)).round().max(1.0) as i64;
        let approved = status.has_approved_quantities().then_some(requested);
        let packs = packs_to_ship(approved.unwrap_or(requested), product);
        out.lines.push(RequisitionLine {
            id: d.id(),
            requisitionid: id,
            orderableid: product.id,
            orderableversionnumber: product.version,
            stock: None,
            requestedquantity: Some(requested),
            requestedquantityexplanation: Some("Emergency: stock out"),
            approvedquantity: approved,
            packstoship: Some(packs),
            priceperpack: product.price,
            totalcost: Some(packs * product.price),
            skipped: false,
            nonfullsupply: false,
        });
        cost.push((product.clone(), packs, Some(index)));
    }
    finish(d, out, c, actors, id, true, &steps, &cost, chains);
}

/// Writes the requisition row and its status changes, and fulfils it when released: an order,
/// then (time permitting) a shipment and a proof of delivery, whose accepted units become receipts.
#[allow(clippy::too_many_arguments)]
fn finish(
    d: &mut Draw,
    out: &mut Requisitions,
    c: &Context<'_>,
    actors: &Actors,
    id: Id,
    emergency: bool,
    steps: &[Step],
    lines: &[(Product, i64, Option<usize>)],
    chains: &mut [Chain],
) {
    let r = c.r;
    let (Some(first), Some(last)) = (steps.first(), steps.last()) else { return };
    let stock_count = (r.program_info[c.program].stock_count_date && !emergency && last.status != Status::Skipped)
        .then(|| {
            let date = first.at.date().min(c.end).add_days(-(d.between(0, 2) as i32));
            date.max(c.start)
        });
    out.requisitions.push(Requisition {
        id,
        facilityid: r.facility_info[c.facility].id,
        programid: r.program_info[c.program].id,
        processingperiodid: c.period_id,
        status: last.status,
        emergency,
        numberofmonthsinperiod: if r.program_info[c.program].monthly { 1 } else { 3 },
        datephysicalstockcountcompleted: stock_count,
        supervisorynodeid: last.node,
        createddate: first.at,
        modifieddate: last.at,
        version: steps.len() as i64,
    });
    record(out, d, id, steps);
    match last.status {
        Status::ReleasedWithoutOrder => {
            // Fulfilled outside OpenLMIS: the goods still arrive.
            for (product, packs, chain) in lines {
                if let Some(chain) = chain {
                    let arrives = last.at.date().add_days(d.between(5, 15) as i32);
                    chains[*chain].pending.push((arrives, packs * product.netcontent));
                }
            }
        }
        Status::Released => fulfil(d, out, c, actors, id, emergency, last.at, lines, chains),
        _ => {}
    }
}

#[allow(clippy::too_many_arguments)]
fn fulfil(
    d: &mut Draw,
    out: &mut Requisitions,
    c: &Context<'_>,
    actors: &Actors,
    requisition: Id,
    emergency: bool,
    released: Timestamp,
    lines: &[(Product, i64, Option<usize>)],
    chains: &mut [Chain],
) {
    let r = c.r;
    let info = &r.facility_info[c.facility];
    let order = d.id();
    let shipped = d.office_time_between(released.date().add_days(2), released.date().add_days(10));
    let received = d.office_time_between(shipped.date().add_days(1), shipped.date().add_days(6));
    let end = end_of_demo();
    let status = if shipped > end {
        if d.chance(0.3) { "FULFILLING" } else { "ORDERED" }
    } else if received > end {
        "SHIPPED"
    } else {
        "RECEIVED"
    };
    let order_lines: Vec<_> = lines.iter().filter(|(_, packs, _)| *packs > 0).collect();
    out.orders.push(Order {
        id: order,
        externalid: requisition,
        emergency,
        facilityid: info.id,
        processingperiodid: c.period_id,
        programid: r.program_info[c.program].id,
        supplyingfacilityid: r.facility_info[r.district_store[info.district]].id,
        ordercode: format!("ORD{:07}", out.orders.len() + 1),
        status,
        quotedcost: order_lines.iter().map(|(p, packs, _)| packs * p.price).sum(),
        createddate: released,
        createdbyid: actors.store_manager,
        lastupdateddate: [released, shipped, received].into_iter().filter(|t| *t <= end).max().unwrap_or(released),
    });
    for (product, packs, _) in &order_lines {
        out.order_lines.push(OrderLine {
            id: d.id(),
            orderid: order,
            orderableid: product.id,
            orderableversionnumber: product.version,
            orderedquantity: *packs,
        });
    }
    if shipped > end {
        return;
    }
    let shipment = d.id();
    out.shipments.push(Shipment {
        id: shipment,
        orderid: order,
        shippedbyid: actors.store_manager,
        shippeddate: shipped,
    });
    let confirmed = received <= end;
    let pod = d.id();
    let person = |d: &mut Draw| format!("{} {}", d.pick(names::FIRST_NAMES), d.pick(names::LAST_NAMES));
    out.pods.push(ProofOfDelivery {
        id: pod,
        shipmentid: shipment,
        confirmed,
        deliveredby: person(d),
        receivedby: person(d),
        receiveddate: confirmed.then(|| received.date()),
    });
    for (product, packs, chain) in &order_lines {
        let fill = d.unit();
        let quantity = if fill < 0.8 {
            *packs
        } else if fill < 0.97 {
            (*packs as f64 * d.uniform(0.5, 1.0)).round() as i64
        } else {
            0
        };
        let lot = (!product.lots.is_empty()).then(|| *d.pick(&product.lots));
        out.shipment_lines.push(ShipmentLine {
            id: d.id(),
            shipmentid: shipment,
            orderableid: product.id,
            orderableversionnumber: product.version,
            lotid: lot,
            quantityshipped: quantity,
        });
        let rejected =
            if confirmed && quantity > 0 && d.chance(0.03) { d.between(1, (quantity / 10).max(1)) } else { 0 };
        out.pod_lines.push(ProofOfDeliveryLine {
            id: d.id(),
            proofofdeliveryid: pod,
            orderableid: product.id,
            orderableversionnumber: product.version,
            lotid: lot,
            quantityaccepted: confirmed.then_some(quantity - rejected),
            quantityrejected: confirmed.then_some(rejected),
        });
        if let (true, Some(chain)) = (confirmed, chain) {
            chains[*chain].pending.push((received.date(), (quantity - rejected) * product.netcontent));
        }
    }
}
