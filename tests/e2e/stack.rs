//! The AWS end-to-end run on what infra/template.yaml creates: with `SHIKAYAT_E2E_PROVISION=stack`
//! each desk's prefix is a CloudFormation stack deployed onto moto by `scripts/deploy-moto.sh`
//! (the SAM template expanded offline, as `sam deploy` would), instead of `shikayat-admin
//! provision`. The scenarios then run on the template's tables, indexes, queues and bucket, so
//! the template and the code cannot disagree on a name, key or index.

use std::collections::HashMap;

use shikayat_adapters::aws::AwsNames;
use shikayat_core::command::QueueName;
use tokio::process::Command;

use crate::harness::repo_root;

/// `SHIKAYAT_E2E_PROVISION=stack`: desks stand on stacks, not on `shikayat-admin provision`.
pub fn stack_mode() -> bool {
    std::env::var("SHIKAYAT_E2E_PROVISION").is_ok_and(|v| v == "stack")
}

/// Deploys the template onto `endpoint` with `prefix`; the stack's outputs.
pub async fn deploy(endpoint: &str, prefix: &str) -> HashMap<String, String> {
    let out = Command::new(repo_root().join("scripts/deploy-moto.sh"))
        .args(["--endpoint", endpoint, "--prefix", prefix])
        .current_dir(repo_root())
        .output()
        .await
        .expect("run scripts/deploy-moto.sh");
    assert!(
        out.status.success(),
        "deploying the stack for {prefix} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stack outputs as a JSON object of strings")
}

/// Every name in the outputs is the one the adapters derive from the same prefix.
#[tokio::test(flavor = "multi_thread")]
async fn stack_outputs_are_the_names_the_code_uses() {
    let Ok(endpoint) = std::env::var("SHIKAYAT_TEST_AWS_ENDPOINT") else {
        eprintln!(
            "SHIKAYAT_TEST_AWS_ENDPOINT unset: no moto, no stack to deploy (./scripts/test.sh starts one)"
        );
        return;
    };
    let prefix = format!("stack{}-", std::process::id());
    let out = deploy(&endpoint, &prefix).await;
    let names = AwsNames::with_prefix(prefix.clone());
    let get = |k: &str| {
        out.get(k)
            .unwrap_or_else(|| panic!("output {k} in {out:#?}"))
            .as_str()
    };
    let tables = [
        "ComplaintsTableName",
        "ComplaintEventsTableName",
        "MessagesTableName",
        "ConversationsTableName",
        "DirectoryTableName",
        "SettingsTableName",
    ];
    assert_eq!(tables.map(get).map(str::to_string), names.tables());
    for (q, main, dead) in [
        (QueueName::Inbound, "InboundQueueUrl", "InboundDeadLetterQueueUrl"),
        (QueueName::Relay, "RelayQueueUrl", "RelayDeadLetterQueueUrl"),
        (QueueName::Notify, "NotifyQueueUrl", "NotifyDeadLetterQueueUrl"),
    ] {
        assert!(get(main).ends_with(&format!("/{}", names.queue(q))), "{main}");
        assert!(
            get(dead).ends_with(&format!("/{}", names.dead_letter_queue(q))),
            "{dead}"
        );
    }
    assert_eq!(get("MediaBucketName"), names.media_bucket());
    assert_eq!(get("Prefix"), prefix);
}
