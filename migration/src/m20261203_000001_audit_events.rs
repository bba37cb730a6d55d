//! `audit_events`: who changed what. One row per admin or moderator mutation, sign-in, role change
//! and account deletion, written in the same transaction as the change: the actor (null once their
//! account is deleted), the action (the mutation's name), the entity's type and id, the changed
//! fields before and after as JSON text (secrets stripped), the request id and the time.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates the table and the indexes `auditLog`'s filters use.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000001_audit_events"
    }
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    ActorId,
    Action,
    EntityType,
    EntityId,
    Before,
    After,
    RequestId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(big_pk_auto(AuditEvents::Id))
                    .col(big_integer_null(AuditEvents::ActorId))
                    .col(string_len(AuditEvents::Action, 64))
                    .col(string_len(AuditEvents::EntityType, 64))
                    .col(big_integer_null(AuditEvents::EntityId))
                    .col(text_null(AuditEvents::Before))
                    .col(text_null(AuditEvents::After))
                    .col(string_len_null(AuditEvents::RequestId, 64))
                    .col(timestamp_with_time_zone(AuditEvents::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AuditEvents::Table, AuditEvents::ActorId)
                            .to(Users::Table, Users::Id)
                            // The trail outlives the account: the row stays, no longer naming them.
                            .on_delete(ForeignKeyAction::SetNull)
                            .on_update(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Newest first, and pruning by age; the id breaks ties in the page order.
        let indexes: [(&str, Vec<AuditEvents>); 3] = [
            ("idx_audit_events_created_at", vec![AuditEvents::CreatedAt, AuditEvents::Id]),
            ("idx_audit_events_entity", vec![AuditEvents::EntityType, AuditEvents::EntityId, AuditEvents::CreatedAt]),
            ("idx_audit_events_actor_id", vec![AuditEvents::ActorId, AuditEvents::CreatedAt]),
        ];
        for (name, columns) in indexes {
            let mut index = Index::create();
            index.name(name).table(AuditEvents::Table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AuditEvents::Table).to_owned()).await
    }
}
