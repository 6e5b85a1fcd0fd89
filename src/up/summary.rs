//! What `up` prints once everything runs: a table of the parts, their URLs and what each
//! keeps its data in, then where the data is and what to try.

use std::fmt;

use super::gateway::Gateway;
use super::parts::{Data, Parts, url};
use crate::cli::UpArgs;

/// The lines `up` prints when every part is ready.
#[derive(Debug)]
pub(super) struct Summary<'a> {
    pub(super) args: &'a UpArgs,
    pub(super) gateway: &'a Gateway,
    pub(super) parts: &'a Parts,
    pub(super) data: &'a Data,
}

// === impl Summary ===

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let running = &self.gateway.running;
        let mut rows = vec![(
            "gateway",
            url(running.addr),
            format!(
                "{}, admin {}",
                self.args.routes.display(),
                url(running.admin_addr)
            ),
        )];
        rows.extend(self.parts.iter().map(|part| {
            let note = part
                .database
                .clone()
                .unwrap_or_else(|| "no database; calls users, friends and messages".to_owned());
            (part.service.name(), url(part.addr), note)
        }));
        let url_width = rows.iter().map(|(_, url, _)| url.len()).max().unwrap_or(0);
        writeln!(f, "{:<9} {:<url_width$}  details", "part", "url")?;
        for (name, url, note) in &rows {
            writeln!(f, "{name:<9} {url:<url_width$}  {note}")?;
        }
        writeln!(f)?;
        let data = self.data.path().display();
        writeln!(
            f,
            "data in {data}{}; Ctrl-C stops every part",
            if self.data.is_fresh() {
                " (deleted on exit)"
            } else {
                ""
            },
        )?;
        write!(
            f,
            "try: curl -H \"authorization: Bearer $(cargo run -q --release -- token --user 1 --data {data})\" {}/timeline/1",
            url(running.addr),
        )
    }
}
