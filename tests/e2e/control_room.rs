//! The daily digest (once per district day, each supervisor's own chain) and the control room's
//! commands over WhatsApp: note, lookup, and the unassigned list to pick from.

use std::time::Duration;

use chrono::Utc;
use shikayat_graph_sim::SentMessage;

use crate::escalation::district;
use crate::harness::*;

const CITIZEN3: &str = "919876500011";
/// A supervisor added for these tests: the water officer reports to them, they to the SDM.
const WATER_SUPERVISOR: &str = "919000000204";

/// Seconds-long deadlines, the digest at `digest_time`, and a water supervisor between the water
/// officer and the SDM.
fn digest_district(digest_time: &str) -> String {
    let base = district("3s", "1h", "1h", "1h");
    assert!(
        base.contains("digest_time = \"21:00\""),
        "amethi.toml lost its digest_time"
    );
    let mut out = base.replace(
        "digest_time = \"21:00\"",
        &format!("digest_time = \"{digest_time}\""),
    );
    let officer = out.find("phone = \"919000000105\"").expect("water officer");
    let rel = out[officer..]
        .find("reports_to = \"919000000201\"")
        .expect("reports_to");
    out.replace_range(
        officer + rel..officer + rel + "reports_to = \"919000000201\"".len(),
        &format!("reports_to = \"{WATER_SUPERVISOR}\""),
    );
    out.replace(
        "# Control room (Collectorate",
        &format!(
            "[[person]]\nphone = \"{WATER_SUPERVISOR}\"\nname = \"EE Jal Nigam (test)\"\nrole = \"supervisor\"\nreports_to = \"919000000201\"\n\n# Control room (Collectorate"
        ),
    )
}

fn is_digest(m: &SentMessage) -> bool {
    m.text().contains("DIGEST-") || m.text().contains("Daily digest")
}

fn digests(desk: &Desk, to: &str) -> usize {
    desk.sim.sent_to(to).iter().filter(|m| is_digest(m)).count()
}

async fn file(desk: &Desk, who: &str, text: &str, officer: &str) -> String {
    desk.sim.send_text(who, text).await.expect("text");
    let id = desk.complaint_number(who).await;
    desk.wait_for(officer, "the complaint", |m| m.text().contains(&id))
        .await;
    id
}

/// A department's line of the digest; in a template parameter its lines are joined by ` · `.
fn line_of<'a>(text: &'a str, department: &str) -> Option<&'a str> {
    let line = text
        .lines()
        .flat_map(|l| l.split(" · • "))
        .find(|l| l.contains(&format!("{department}: ")))?;
    // The line ends where the next part of the digest ("(9 other departments…", "Total") begins.
    Some(
        [" · (", " · कुल"]
            .iter()
            .fold(line, |l, end| l.split(end).next().unwrap_or(l)),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn digest_once_a_day_with_the_days_counts_and_each_supervisors_chain() {
    // 23:59 has not come (unless the test runs in the day's last minute): no digest yet.
    let mut desk = Desk::start_with_config(&digest_district("23:59")).await;
    let w1 = file(&desk, CITIZEN, "हमारे गांव में हैंडपंप से पानी नहीं आ रहा", WATER_OFFICER).await;
    let w2 = file(&desk, CITIZEN3, "मोहल्ले का नल टूटा है, पानी बह रहा है", WATER_OFFICER).await;
    let e1 = file(
        &desk,
        CITIZEN2,
        "तीन दिन से बिजली नहीं आ रही, ट्रांसफार्मर खराब",
        ELECTRICITY_OFFICER,
    )
    .await;
    // Every deadline (3 s) passes.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(digests(&desk, CONTROL_ROOM), 0);

    // The digest time is now past: the next sweep sends it.
    // Asia/Kolkata keeps no daylight saving: UTC+05:30.
    let ist = chrono::FixedOffset::east_opt(19_800).expect("IST");
    let now = Utc::now().with_timezone(&ist);
    std::fs::write(
        &desk.config_path,
        digest_district(&now.format("%H:%M").to_string()),
    )
    .expect("config");
    desk.restart().await;

    let cr = desk.wait_for(CONTROL_ROOM, "the digest", is_digest).await;
    // The control room never wrote to the number: the approved template, labelled by date.
    assert_eq!(cr.template_name().as_deref(), Some("shikayat_digest"));
    let text = cr.text();
    assert!(
        text.contains(&format!("DIGEST-{}", now.format("%Y-%m-%d"))),
        "{text}"
    );
    let water = line_of(&text, "Water (Jal Nigam)").unwrap_or_else(|| panic!("water line: {text}"));
    assert!(
        water.contains("new 2 · ") && water.contains("pending 2 · ") && water.contains("overdue 2 · "),
        "{water}"
    );
    assert!(
        water.contains("reports 0 · ") && water.contains("dissatisfied 0 · ") && water.ends_with("closed 0"),
        "{water}"
    );
    let power = line_of(&text, "Electricity (UPPCL)").unwrap_or_else(|| panic!("electricity line: {text}"));
    assert!(
        power.contains("new 1 · ") && power.contains("pending 1 · ") && power.contains("overdue 1 · "),
        "{power}"
    );
    for id in [&w1, &w2, &e1] {
        assert!(
            text.contains(id.as_str()),
            "{id} among the oldest overdue: {text}"
        );
    }
    desk.wait_for(CONTROL_ROOM2, "the second desk's digest", is_digest)
        .await;

    // The water supervisor sees only their chain; the SDM above sees both departments.
    let mine = desk
        .wait_for(WATER_SUPERVISOR, "the water supervisor's digest", is_digest)
        .await
        .text();
    assert!(line_of(&mine, "Water (Jal Nigam)").is_some(), "{mine}");
    assert!(
        line_of(&mine, "Electricity (UPPCL)").is_none() && !mine.contains(&e1),
        "{mine}"
    );
    let sdm = desk.wait_for(SDM, "the SDM's digest", is_digest).await.text();
    assert!(
        line_of(&sdm, "Water (Jal Nigam)").is_some() && line_of(&sdm, "Electricity (UPPCL)").is_some(),
        "{sdm}"
    );
    desk.wait_for(DM, "the DM's digest", is_digest).await;

    // Later sweeps, and a restart, send nothing twice.
    tokio::time::sleep(Duration::from_secs(3)).await;
    desk.restart().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    for who in [CONTROL_ROOM, CONTROL_ROOM2, WATER_SUPERVISOR, SDM, CDO, DM] {
        assert_eq!(digests(&desk, who), 1, "one digest to {who}");
    }
    assert_eq!(digests(&desk, WATER_OFFICER), 0, "officers get no digest");
}

#[tokio::test(flavor = "multi_thread")]
async fn control_room_notes_looks_up_and_picks_from_the_unassigned_list() {
    let desk = Desk::start().await;
    let sim = &desk.sim;
    let id = file(&desk, CITIZEN, "हमारे गांव में हैंडपंप से पानी नहीं आ रहा", WATER_OFFICER).await;

    sim.send_text(CONTROL_ROOM, &format!("note {id} JE se baat hui, kal visit"))
        .await
        .expect("note");
    desk.wait_for(CONTROL_ROOM, "the note's confirmation", |m| {
        m.text().contains(&id) && m.text().contains("note is added")
    })
    .await;

    sim.send_text(CONTROL_ROOM, &id).await.expect("lookup");
    let found = desk
        .wait_for(CONTROL_ROOM, "the lookup", |m| m.text().contains("Latest steps"))
        .await
        .text();
    assert!(
        found.contains(&id) && found.contains("Water (Jal Nigam)"),
        "{found}"
    );
    assert!(
        found.contains("with the officer") && found.contains("Escalation level: 0"),
        "{found}"
    );
    assert!(
        found.contains("note") && found.contains("JE se baat hui, kal visit"),
        "{found}"
    );
    assert!(
        !found.contains(WATER_OFFICER) && !found.contains(CITIZEN),
        "numbers masked: {found}"
    );

    // A citizen's "note" is no command: nothing is noted, nothing confirmed.
    sim.send_text(CITIZEN2, &format!("note {id} fake note"))
        .await
        .expect("citizen note");
    tokio::time::sleep(Duration::from_secs(2 * SETTLE_SECONDS + 1)).await;
    assert!(
        !sim.sent_to(CITIZEN2)
            .iter()
            .any(|m| m.text().contains("note is added")),
        "{:?}",
        sim.sent_to(CITIZEN2).iter().map(|m| m.text()).collect::<Vec<_>>()
    );
    sim.send_text(CONTROL_ROOM, &format!("lookup {id}"))
        .await
        .expect("lookup 2");
    let lookups = |desk: &Desk| -> Vec<String> {
        desk.sim
            .sent_to(CONTROL_ROOM)
            .iter()
            .map(|m| m.text())
            .filter(|t| t.contains("Latest steps"))
            .collect()
    };
    for _ in 0..200 {
        if lookups(&desk).len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let again = lookups(&desk).pop().expect("the second lookup");
    assert_eq!(lookups(&desk).len(), 2, "the second lookup came");
    assert!(!again.contains("fake note"), "{again}");

    // The unassigned register as a list: a row opens the department list, which assigns.
    sim.send_text(CITIZEN3, "मदद चाहिए, कोई सुनता नहीं")
        .await
        .expect("unroutable");
    let lost = desk.complaint_number(CITIZEN3).await;
    desk.wait_for(CONTROL_ROOM, "the unassigned alert", |m| m.text().contains(&lost))
        .await;
    sim.send_text(CONTROL_ROOM, "unassigned")
        .await
        .expect("unassigned");
    let pick = format!("pick:{lost}");
    let list = desk
        .wait_for(CONTROL_ROOM, "the unassigned list", |m| {
            m.button_ids().contains(&pick)
        })
        .await;
    sim.choose_list_row(CONTROL_ROOM, &list.wamid, &pick, &lost)
        .await
        .expect("pick");
    let row = format!("assign:{lost}:water");
    let depts = desk
        .wait_for(CONTROL_ROOM, "the department list", |m| {
            m.button_ids().contains(&row) && m.text().contains("Which department")
        })
        .await;
    sim.choose_list_row(CONTROL_ROOM, &depts.wamid, &row, "Water")
        .await
        .expect("assign");
    desk.wait_text(WATER_OFFICER, &lost).await;
}
