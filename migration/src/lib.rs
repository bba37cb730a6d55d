//! The fandb schema as sea-orm-migration migrations, one per change; a landed migration is never edited.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_create_tables;
pub mod m20261124_000001_search;
mod m20261124_000002_relation_indexes;
mod m20261201_000001_search_headline;
mod m20261201_000002_source_articles;
mod m20261202_000016_user_account_activity;
mod m20261202_000017_account_tokens;
mod m20261203_000001_audit_events;
mod m20261203_000002_petition_updates;
mod m20261207_000001_normalize_urls;
mod m20261207_000002_sort_indexes;
mod m20261207_000010_counter_slots;
mod m20261207_000011_search_on_text_only;
mod m20261207_000101_where_filter_indexes;

/// Every migration of the fandb schema, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_tables::Migration),
            Box::new(m20261124_000001_search::Migration),
            Box::new(m20261124_000002_relation_indexes::Migration),
            Box::new(m20261201_000001_search_headline::Migration),
            Box::new(m20261201_000002_source_articles::Migration),
            Box::new(m20261202_000016_user_account_activity::Migration),
            Box::new(m20261202_000017_account_tokens::Migration),
            Box::new(m20261203_000001_audit_events::Migration),
            Box::new(m20261203_000002_petition_updates::Migration),
            Box::new(m20261207_000001_normalize_urls::Migration),
            Box::new(m20261207_000002_sort_indexes::Migration),
            Box::new(m20261207_000010_counter_slots::Migration),
            Box::new(m20261207_000011_search_on_text_only::Migration),
            Box::new(m20261207_000101_where_filter_indexes::Migration),
        ]
    }
}
