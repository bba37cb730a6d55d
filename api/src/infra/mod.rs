//! Adapters to what runs outside the process: the database connection (`db`), a PostgreSQL read
//! replica (`replica`), PostgreSQL `LISTEN` for notices from other processes (`listen`), SMTP
//! (`mail`) and Redis (`shared_state`); and the allocator's free pages (`allocator`).

pub(crate) mod allocator;
pub mod db;
pub mod listen;
pub(crate) mod mail;
pub(crate) mod replica;
pub(crate) mod shared_state;
