//! Stock cards: for each stock-keeping facility and program, 18 months of stock events (an opening
//! count, monthly receipts from the district store, consumption and issues to health posts, the odd
//! adjustment, quarterly physical inventories), never taking a card below zero, and the stock on
//! hand OpenLMIS calculates after each day with movements.

use std::collections::BTreeMap;

use super::reference::{Kind, Reference};
use super::{AS_OF, reason};
use crate::demo::calendar::Date;
use crate::demo::random::{Draw, Id};
use crate::demo::rows::*;

/// Months of history before the demo's "today".
pub const MONTHS: i32 = 18;

#[derive(Default)]
pub struct Stock {
    pub nodes: Vec<Node>,
    pub events: Vec<StockEvent>,
    pub cards: Vec<StockCard>,
    pub lines: Vec<StockLine>,
    pub on_hand: Vec<StockOnHand>,
}

/// One movement decided for one card.
struct Movement {
    card: usize,
    quantity: i64,
    reason: Option<usize>,
    source: Option<Id>,
    destination: Option<Id>,
}

pub fn generate(seed: u64, r: &Reference) -> Stock {
    let mut d = Draw::stream(seed, "stock");
    let mut out = Stock::default();
    let mut nodes: BTreeMap<usize, Id> = BTreeMap::new();
    let window = AS_OF.month_start_plus(-(MONTHS - 1));
    for group in &r.stock_groups {
        let info = &r.facility_info[group.facility];
        let program = r.program_info[group.program].id;
        let Some(&user) = r.clerk.get(&group.facility) else { continue };
        let code = &r.facilities[group.facility].code;
        let mut node_of = |d: &mut Draw, out: &mut Stock, facility: usize| -> Id {
            *nodes.entry(facility).or_insert_with(|| {
                let id = d.id();
                out.nodes.push(Node { id, referenceid: r.facility_info[facility].id });
                id
            })
        };
        let source = node_of(&mut d, &mut out, r.district_store[info.district]);
        let posts: Vec<usize> = r.district_facilities[info.district]
            .iter()
            .copied()
            .filter(|&f| r.facility_info[f].kind == Kind::HealthPost && f != group.facility)
            .collect();
        let destination = match posts.is_empty() {
            true => None,
            false => {
                let post = *d.pick(&posts);
                Some(node_of(&mut d, &mut out, post))
            }
        };
        let products = &r.core[group.program][..group.cards];
        let first_card = out.cards.len();
        let mut stock: Vec<i64> = Vec::new();
        let mut demand: Vec<f64> = Vec::new();
        let mut lots: Vec<Option<Id>> = Vec::new();
        for product in products {
            demand.push(product.monthly_demand * info.kind.size() * d.around_one(0.3));
            stock.push(0);
            lots.push((!product.lots.is_empty()).then(|| *d.pick(&product.lots)));
        }
        let mut events = 0;
        let mut event =
            |d: &mut Draw, out: &mut Stock, stock: &mut [i64], kind: &str, date: Date, moves: Vec<Movement>| {
                if moves.is_empty() || date > AS_OF {
                    return;
                }
                events += 1;
                let id = d.id();
                let processed = d.office_time_between(date, date.add_days(2).min(AS_OF));
                out.events.push(StockEvent {
                    id,
                    facilityid: info.id,
                    programid: program,
                    processeddate: processed,
                    userid: user,
                    documentnumber: format!("{kind}-{code}-{events:04}"),
                });
                if out.cards.len() == first_card {
                    // The opening count creates the cards.
                    for (i, product) in products.iter().enumerate() {
                        out.cards.push(StockCard {
                            id: d.id(),
                            facilityid: info.id,
                            programid: program,
                            orderableid: product.id,
                            lotid: lots[i],
                            origineventid: id,
                        });
                    }
                }
                for m in moves {
                    let direction = m.reason.map(|i| r.reasons[i].direction);
                    stock[m.card] = match direction {
                        None => m.quantity,
                        Some(direction) => stock[m.card] + direction.sign() * m.quantity,
                    };
                    let card = out.cards[first_card + m.card].id;
                    out.lines.push(StockLine {
                        id: d.id(),
                        stockcardid: card,
                        origineventid: id,
                        quantity: m.quantity,
                        reasonid: m.reason.map(|i| r.reasons[i].id),
                        sourceid: m.source,
                        destinationid: m.destination,
                        occurreddate: date,
                        processeddate: processed,
                        userid: user,
                        stock_after: stock[m.card],
                    });
                    out.on_hand.push(StockOnHand {
                        id: d.id(),
                        stockcardid: card,
                        stockonhand: stock[m.card],
                        occurreddate: date,
                        processeddate: processed,
                    });
                }
            };
        // Each kind of event has its own days of the month, so a card moves at most once a day.
        let opening = window.add_days(d.between(0, 2) as i32);
        let counts = (0..products.len())
            .map(|card| Movement {
                card,
                quantity: (demand[card] * d.uniform(1.0, 3.0)) as i64,
                reason: None,
                source: None,
                destination: None,
            })
            .collect();
        event(&mut d, &mut out, &mut stock, "PI", opening, counts);
        for month in 0..MONTHS {
            let start = window.month_start_plus(month);
            if d.chance(0.8) {
                let date = start.add_days(d.between(3, 7) as i32);
                let moves = (0..products.len())
                    .filter_map(|card| {
                        let target = (demand[card] * 3.0 * d.around_one(0.2)) as i64;
                        let quantity = target - stock[card];
                        (quantity > 0).then_some(Movement {
                            card,
                            quantity,
                            reason: Some(reason::TRANSFER_IN),
                            source: Some(source),
                            destination: None,
                        })
                    })
                    .collect();
                event(&mut d, &mut out, &mut stock, "RCV", date, moves);
            }
            let date = start.add_days(d.between(8, 13) as i32);
            let mut moves = Vec::new();
            for card in 0..products.len() {
                if !d.chance(0.12) {
                    continue;
                }
                if stock[card] > 0 && d.chance(0.8) {
                    let debits: &[usize] = if group.program == 3 {
                        &[reason::DAMAGE, reason::EXPIRED, reason::OPEN_VIAL, reason::COLD_CHAIN]
                    } else {
                        &[reason::DAMAGE, reason::EXPIRED, reason::LOST, reason::STOLEN]
                    };
                    moves.push(Movement {
                        card,
                        quantity: d.between(1, (stock[card] / 10).max(1)),
                        reason: Some(*d.pick(debits)),
                        source: None,
                        destination: None,
                    });
                } else {
                    moves.push(Movement {
                        card,
                        quantity: d.between(1, (demand[card] / 10.0).max(1.0) as i64),
                        reason: Some(reason::FACILITY_RETURN),
                        source: None,
                        destination: None,
                    });
                }
            }
            event(&mut d, &mut out, &mut stock, "ADJ", date, moves);
            let date = start.add_days(d.between(14, 24) as i32);
            let mut moves = Vec::new();
            for card in 0..products.len() {
                let wanted = (demand[card] * d.around_one(0.35)).round() as i64;
                let quantity = wanted.min(stock[card]);
                if quantity <= 0 {
                    continue;
                }
                let issue = destination.filter(|_| d.chance(0.3));
                moves.push(Movement {
                    card,
                    quantity,
                    reason: Some(if issue.is_some() { reason::TRANSFER_OUT } else { reason::CONSUMED }),
                    source: None,
                    destination: issue,
                });
            }
            event(&mut d, &mut out, &mut stock, "ISS", date, moves);
            if start.month().is_multiple_of(3) {
                let date = start.add_days(d.between(25, 27) as i32);
                let counts = (0..products.len())
                    .map(|card| {
                        let shrink = if d.chance(0.3) { d.between(0, stock[card] / 50) } else { 0 };
                        Movement { card, quantity: stock[card] - shrink, reason: None, source: None, destination: None }
                    })
                    .collect();
                event(&mut d, &mut out, &mut stock, "PI", date, counts);
            }
        }
    }
    out
}
