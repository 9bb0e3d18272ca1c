//! Directory state and the SCIM semantics of every operation on it.
//!
//! Users and groups live in insertion-ordered `Vec`s (list order is stable and pages
//! are plain slices) with id → position maps for O(1) lookups. Removal shifts the
//! vector and re-indexes the tail, which is O(n) but only a few hundred microseconds
//! at 100,000 users.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::anomaly::Anomalies;
use crate::filter::{GroupFilter, UserFilter};
use crate::generator::{Directory, SplitMix64, KIND_CREATED};
use crate::input::{self, invalid_value};
use crate::model::{Group, Role, ScimId, User};
use crate::paging::Page;
use crate::patch;
use crate::scim::{list_response, ScimError};

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The mutable directory behind the API.
#[derive(Debug)]
pub(crate) struct Store {
    users: Vec<User>,
    user_pos: HashMap<ScimId, usize>,
    by_user_name: HashMap<String, ScimId>,
    groups: Vec<Group>,
    group_pos: HashMap<ScimId, usize>,
    ids: SplitMix64,
}

impl Store {
    pub fn new(dir: Directory, seed: u64) -> Store {
        let mut store = Store {
            by_user_name: dir
                .users
                .iter()
                .map(|u| (u.user_name.to_lowercase(), u.id))
                .collect(),
            users: dir.users,
            user_pos: HashMap::new(),
            groups: dir.groups,
            group_pos: HashMap::new(),
            ids: SplitMix64::new(seed, KIND_CREATED, 0),
        };
        store.reindex_users(0);
        store.reindex_groups(0);
        store
    }

    fn reindex_users(&mut self, from: usize) {
        for (i, u) in self.users.iter().enumerate().skip(from) {
            self.user_pos.insert(u.id, i);
        }
    }

    fn reindex_groups(&mut self, from: usize) {
        for (i, g) in self.groups.iter().enumerate().skip(from) {
            self.group_pos.insert(g.id, i);
        }
    }

    fn fresh_id(&mut self) -> ScimId {
        loop {
            let id = self.ids.uuid();
            if !self.user_pos.contains_key(&id) && !self.group_pos.contains_key(&id) {
                return id;
            }
        }
    }

    /// A copy of the current state.
    pub fn snapshot(&self) -> Directory {
        Directory {
            users: self.users.clone(),
            groups: self.groups.clone(),
        }
    }

    pub fn users_json(&self) -> Vec<Value> {
        self.users.iter().map(User::to_json).collect()
    }

    pub fn groups_json(&self) -> Vec<Value> {
        self.groups.iter().map(|g| self.group_json(g)).collect()
    }

    fn group_json(&self, g: &Group) -> Value {
        g.to_json(|uid| self.user_pos.get(&uid).map(|&p| self.users[p].display()))
    }

    fn user_index(&self, id: &str) -> Result<usize, ScimError> {
        id.parse::<ScimId>()
            .ok()
            .and_then(|sid| self.user_pos.get(&sid).copied())
            .ok_or_else(|| ScimError::not_found("User", id))
    }

    fn group_index(&self, id: &str) -> Result<usize, ScimError> {
        id.parse::<ScimId>()
            .ok()
            .and_then(|sid| self.group_pos.get(&sid).copied())
            .ok_or_else(|| ScimError::not_found("Group", id))
    }

    fn user_exists(&self, id: ScimId) -> bool {
        self.user_pos.contains_key(&id)
    }

    // ----- users -----

    /// A page of users; `anomalies` reshape unfiltered lists only.
    pub fn list_users(
        &self,
        filter: Option<&UserFilter>,
        page: Page,
        anomalies: Anomalies,
    ) -> Value {
        match filter {
            None => {
                let l = anomalies.listing(self.users.len(), page);
                let items = self.users[l.window.clone()]
                    .iter()
                    .map(User::to_json)
                    .collect();
                l.response(page.start_index, items)
            }
            // A scan: email filters also match secondary emails, and 100k users scan
            // in about a millisecond.
            Some(f) => {
                let hits: Vec<&User> = self.users.iter().filter(|u| f.matches(u)).collect();
                let items = hits[page.window(hits.len())]
                    .iter()
                    .map(|u| u.to_json())
                    .collect();
                list_response(hits.len(), page.start_index, items)
            }
        }
    }

    pub fn get_user(&self, id: &str) -> Result<Value, ScimError> {
        Ok(self.users[self.user_index(id)?].to_json())
    }

    pub fn create_user(&mut self, body: &Value) -> Result<Value, ScimError> {
        let inp = input::user_input(body)?;
        if self.by_user_name.contains_key(&inp.user_name) {
            return Err(ScimError {
                status: 409,
                scim_type: Some("uniqueness"),
                detail: format!("a user with userName {} already exists", inp.user_name),
            });
        }
        let now = now_ms();
        let user = User {
            id: self.fresh_id(),
            emails: inp
                .emails
                .unwrap_or_else(|| input::default_emails(&inp.user_name)),
            user_name: inp.user_name,
            given_name: inp.given_name,
            family_name: inp.family_name,
            formatted: inp.formatted,
            display_name: inp.display_name,
            // POST adds the user to the workspace; there is no such thing as an
            // inactive member, so `active` in the body is not honoured.
            active: true,
            role: Some(inp.role.unwrap_or(Role::Member)),
            created_ms: now,
            modified_ms: now,
            extra: inp.extra,
        };
        let json = user.to_json();
        self.by_user_name.insert(user.user_name.clone(), user.id);
        self.user_pos.insert(user.id, self.users.len());
        self.users.push(user);
        Ok(json)
    }

    /// Commits an updated user, enforcing userName uniqueness and removal on
    /// `active: false`. Returns the user as it was last seen.
    fn commit_user(&mut self, idx: usize, mut user: User) -> Result<Value, ScimError> {
        let old_name = self.users[idx].user_name.clone();
        if user.user_name != old_name {
            if let Some(other) = self.by_user_name.get(&user.user_name) {
                if *other != user.id {
                    // Observed on Notion: changing userName to an email owned by another
                    // account fails with a 500, not a 409.
                    return Err(ScimError::new(
                        500,
                        "internal error: email already belongs to another user",
                    ));
                }
            }
        }
        user.modified_ms = now_ms().max(user.created_ms);
        let json = user.to_json();
        if !user.active {
            // Deactivation removes the member from the workspace, exactly like DELETE.
            self.remove_user_at(idx);
            return Ok(json);
        }
        self.by_user_name.remove(&old_name);
        self.by_user_name.insert(user.user_name.clone(), user.id);
        self.users[idx] = user;
        Ok(json)
    }

    pub fn replace_user(&mut self, id: &str, body: &Value) -> Result<Value, ScimError> {
        let idx = self.user_index(id)?;
        let inp = input::user_input(body)?;
        let old = &self.users[idx];
        let mut extra = inp.extra;
        // Photos are read on create only.
        extra.remove("photos");
        if let Some(p) = old.extra.get("photos") {
            extra.insert("photos".into(), p.clone());
        }
        let user = User {
            id: old.id,
            emails: inp
                .emails
                .unwrap_or_else(|| input::default_emails(&inp.user_name)),
            user_name: inp.user_name,
            given_name: inp.given_name,
            family_name: inp.family_name,
            formatted: inp.formatted,
            display_name: inp.display_name,
            active: inp.active.unwrap_or(true),
            // A member always has a role; a PUT without the extension keeps it.
            role: inp.role.or(old.role),
            created_ms: old.created_ms,
            modified_ms: old.modified_ms,
            extra,
        };
        self.commit_user(idx, user)
    }

    pub fn patch_user(&mut self, id: &str, body: &Value) -> Result<Value, ScimError> {
        let idx = self.user_index(id)?;
        let ops = patch::parse_ops(body)?;
        let mut user = self.users[idx].clone();
        patch::apply_user(&mut user, &ops)?;
        self.commit_user(idx, user)
    }

    pub fn delete_user(&mut self, id: &str) -> Result<(), ScimError> {
        let idx = self.user_index(id)?;
        self.remove_user_at(idx);
        Ok(())
    }

    /// Sets a user's `active` flag in place, as no SCIM request can: the user
    /// stays listed, keeps its groups and answers GET as before. This is how a
    /// member shows up with `active: false` in a listing (the generator's
    /// `i % 100 == 42` users); Notion's SCIM `active: false` removes the user
    /// instead (`commit_user`). Returns the user as now served.
    pub fn set_listed_active(&mut self, id: &str, active: bool) -> Result<Value, ScimError> {
        let idx = self.user_index(id)?;
        let user = &mut self.users[idx];
        user.active = active;
        user.modified_ms = now_ms().max(user.created_ms);
        Ok(user.to_json())
    }

    fn remove_user_at(&mut self, idx: usize) {
        let user = self.users.remove(idx);
        self.user_pos.remove(&user.id);
        self.by_user_name.remove(&user.user_name);
        self.reindex_users(idx);
        let now = now_ms();
        for g in &mut self.groups {
            let before = g.members.len();
            g.members.retain(|m| *m != user.id);
            if g.members.len() != before {
                g.modified_ms = now.max(g.created_ms);
            }
        }
    }

    // ----- groups -----

    /// A page of groups; `anomalies` reshape unfiltered lists only.
    pub fn list_groups(
        &self,
        filter: Option<&GroupFilter>,
        page: Page,
        anomalies: Anomalies,
    ) -> Value {
        let to_json = |gs: &[&Group]| gs.iter().map(|g| self.group_json(g)).collect();
        match filter {
            None => {
                let l = anomalies.listing(self.groups.len(), page);
                let items: Vec<&Group> = self.groups[l.window.clone()].iter().collect();
                l.response(page.start_index, to_json(&items))
            }
            Some(f) => {
                let hits: Vec<&Group> = self.groups.iter().filter(|g| f.matches(g)).collect();
                let items = to_json(&hits[page.window(hits.len())]);
                list_response(hits.len(), page.start_index, items)
            }
        }
    }

    pub fn get_group(&self, id: &str) -> Result<Value, ScimError> {
        Ok(self.group_json(&self.groups[self.group_index(id)?]))
    }

    fn check_group_name(&self, name: &str, except: Option<ScimId>) -> Result<(), ScimError> {
        let lower = name.to_lowercase();
        match self
            .groups
            .iter()
            .find(|g| Some(g.id) != except && g.display_name.to_lowercase() == lower)
        {
            Some(_) => Err(ScimError {
                status: 409,
                scim_type: Some("uniqueness"),
                detail: format!("a group named {name} already exists"),
            }),
            None => Ok(()),
        }
    }

    /// Reads displayName and members from a POST/PUT body.
    fn group_input(&self, body: &Value) -> Result<(String, Vec<ScimId>), ScimError> {
        let name = body
            .get("displayName")
            .ok_or_else(|| invalid_value("displayName is required"))
            .and_then(|v| input::string(v, "displayName"))?;
        let members = match body.get("members") {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => patch::existing_members(input::member_ids(v)?, |id| self.user_exists(id))?,
        };
        Ok((name, members))
    }

    pub fn create_group(&mut self, body: &Value) -> Result<Value, ScimError> {
        let (display_name, members) = self.group_input(body)?;
        self.check_group_name(&display_name, None)?;
        let now = now_ms();
        let group = Group {
            id: self.fresh_id(),
            display_name,
            members,
            created_ms: now,
            modified_ms: now,
        };
        let json = self.group_json(&group);
        self.group_pos.insert(group.id, self.groups.len());
        self.groups.push(group);
        Ok(json)
    }

    fn commit_group(&mut self, idx: usize, mut group: Group) -> Result<Value, ScimError> {
        self.check_group_name(&group.display_name, Some(group.id))?;
        group.modified_ms = now_ms().max(group.created_ms);
        let json = self.group_json(&group);
        self.groups[idx] = group;
        Ok(json)
    }

    pub fn replace_group(&mut self, id: &str, body: &Value) -> Result<Value, ScimError> {
        let idx = self.group_index(id)?;
        let (display_name, members) = self.group_input(body)?;
        let group = Group {
            display_name,
            members,
            ..self.groups[idx].clone()
        };
        self.commit_group(idx, group)
    }

    pub fn patch_group(&mut self, id: &str, body: &Value) -> Result<Value, ScimError> {
        let idx = self.group_index(id)?;
        let ops = patch::parse_ops(body)?;
        let mut group = self.groups[idx].clone();
        patch::apply_group(&mut group, &ops, |uid| self.user_exists(uid))?;
        self.commit_group(idx, group)
    }

    pub fn delete_group(&mut self, id: &str) -> Result<(), ScimError> {
        let idx = self.group_index(id)?;
        let g = self.groups.remove(idx);
        self.group_pos.remove(&g.id);
        self.reindex_groups(idx);
        Ok(())
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
