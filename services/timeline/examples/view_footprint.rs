//! How much memory the live view takes: builds a [`View`] of a demo world in this process
//! and reports the resident size it added.
//!
//! ```text
//! cargo run --release -p timeline --example view_footprint -- users=50000,friends=50,messages=20
//! ```
//!
//! The world is generated twice, in two child processes: once only generated and thrown
//! away (the baseline: the generator's own allocations, which the allocator keeps), once
//! also applied to a view that is kept. The difference of their resident sizes at the end
//! is the view's.

use std::process::Command;
use std::sync::Arc;

use anyhow::Context as _;
use kit::demo::World;
use kit::ids::{MessageId, UserId};
use timeline::domain::{EntryMessage, Profile, View, ViewChange, ViewSize};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let spec = args
        .next()
        .unwrap_or_else(|| "users=50000,friends=50,messages=20".to_owned());
    match args.next().as_deref() {
        Some("baseline") => child(&spec, false),
        Some("view") => child(&spec, true),
        _ => parent(&spec),
    }
}

/// Runs both children and reports.
fn parent(spec: &str) -> anyhow::Result<()> {
    let run = |mode: &str| -> anyhow::Result<String> {
        let out = Command::new(std::env::current_exe()?)
            .args([spec, mode])
            .output()
            .with_context(|| format!("the {mode} run"))?;
        anyhow::ensure!(out.status.success(), "the {mode} run failed");
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let baseline: u64 = run("baseline")?.parse()?;
    let with_view = run("view")?;
    let (rss, size) = with_view.split_once(' ').context("the view run's report")?;
    let rss: u64 = rss.parse()?;
    let view = rss.saturating_sub(baseline);
    println!("world {spec}: {size}");
    println!("resident: {rss} KiB with the view, {baseline} KiB without");
    println!("the view: {} MiB", view / 1024);
    Ok(())
}

/// Generates the world (and builds a view of it when `build`), then prints the resident
/// size in KiB (and the view's size).
fn child(spec: &str, build: bool) -> anyhow::Result<()> {
    let world = World::new(spec.parse().context("a demo spec")?);
    let mut view = View::default();
    let mut apply = |change: ViewChange| {
        if build {
            view.apply(change);
        }
    };
    for user in world.users() {
        apply(ViewChange::UserUpserted(Arc::new(Profile {
            id: UserId::new(user.id),
            name: user.name,
            avatar_url: user.avatar_url,
        })));
    }
    for (low, high) in world.friendships() {
        apply(ViewChange::FriendshipUpserted(
            UserId::new(low),
            UserId::new(high),
        ));
    }
    for message in world.messages() {
        apply(ViewChange::MessageUpserted {
            author: UserId::new(message.author_id),
            message: EntryMessage {
                id: MessageId::new(message.id),
                text: message.text,
                created_at: message.created_at,
            },
        });
    }
    let rss = resident_kib()?;
    if build {
        let ViewSize {
            users,
            friendships,
            authors,
            messages,
            ..
        } = view.size();
        println!(
            "{rss} {users} users, {friendships} friendships, {authors} authors, {messages} messages kept"
        );
    } else {
        println!("{rss}");
    }
    drop(view);
    Ok(())
}

/// `VmRSS` of this process, in KiB.
fn resident_kib() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("no VmRSS in /proc/self/status")?;
    line.split_whitespace()
        .nth(1)
        .context("VmRSS without a value")?
        .parse()
        .context("VmRSS is not a number")
}
