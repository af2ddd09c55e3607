//! `shikayat-admin templates push` and `check` against a fresh simulator (a WABA with no
//! templates), through its Business Management API endpoints: push creates the 17 of
//! config/templates, a second push changes nothing, an edited file is reported by check and
//! updated by push, after which check passes.

use shikayat_graph_sim::{GraphSim, SimConfig};
use tokio::process::Command;

use crate::harness::{admin_binary, repo_root};

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

async fn templates(sim: &GraphSim, action: &str, dir: &std::path::Path) -> Run {
    let cfg = sim.config();
    let out = Command::new(admin_binary())
        .args(["templates", action, "--waba-id", &cfg.waba_id, "--dir"])
        .arg(dir)
        .current_dir(repo_root())
        .env("WHATSAPP_API_BASE_URL", sim.graph_base_url().expect("sim url"))
        .env("WHATSAPP_API_VERSION", "v25.0")
        .env("WHATSAPP_ACCESS_TOKEN", &cfg.access_token)
        .output()
        .await
        .expect("run shikayat-admin");
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn lines_starting(run: &Run, word: &str) -> usize {
    run.stdout.lines().filter(|l| l.starts_with(word)).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn push_creates_updates_and_check_reports_differences() {
    let (sim, _) = GraphSim::serve(SimConfig::default(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("simulator");
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("templates");
    std::fs::create_dir(&dir).expect("mkdir");
    for entry in std::fs::read_dir(repo_root().join("config/templates")).expect("config/templates") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, dir.join(path.file_name().expect("name"))).expect("copy");
    }

    // Nothing at Meta yet: check lists all 17 as missing and fails.
    let run = templates(&sim, "check", &dir).await;
    assert!(!run.ok, "{}", run.stdout);
    assert_eq!(
        run.stdout.matches("missing at Meta").count(),
        17,
        "{}",
        run.stdout
    );

    let run = templates(&sim, "push", &dir).await;
    assert!(run.ok, "{}{}", run.stdout, run.stderr);
    assert_eq!(lines_starting(&run, "created"), 17, "{}", run.stdout);
    assert!(
        run.stdout.contains("created    shikayat_digest (hi): APPROVED"),
        "{}",
        run.stdout
    );

    let run = templates(&sim, "push", &dir).await;
    assert!(run.ok, "{}", run.stderr);
    assert_eq!(lines_starting(&run, "unchanged"), 17, "{}", run.stdout);
    let run = templates(&sim, "check", &dir).await;
    assert!(run.ok, "{}{}", run.stdout, run.stderr);

    // One file edited: check names the template and the component, and fails.
    let path = dir.join("shikayat_reminder.json");
    let text = std::fs::read_to_string(&path).expect("read");
    let edited = text.replace("DM Amethi grievance desk", "DM Amethi helpdesk");
    assert_ne!(edited, text);
    std::fs::write(&path, edited).expect("write");
    let run = templates(&sim, "check", &dir).await;
    assert!(!run.ok);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{}", run.stdout);
    assert!(
        lines[0].starts_with("shikayat_reminder (hi): component FOOTER differs"),
        "{}",
        lines[0]
    );
    assert!(run.stderr.contains("1 difference(s)"), "{}", run.stderr);

    let run = templates(&sim, "push", &dir).await;
    assert!(run.ok, "{}", run.stderr);
    assert_eq!(lines_starting(&run, "unchanged"), 16, "{}", run.stdout);
    assert!(
        run.stdout.contains("updated    shikayat_reminder (hi): APPROVED"),
        "{}",
        run.stdout
    );
    let run = templates(&sim, "check", &dir).await;
    assert!(run.ok, "{}{}", run.stdout, run.stderr);
}
