//! Adapters to what runs outside the process: the database connection (`db`), a PostgreSQL read
//! replica (`replica`), PostgreSQL `LISTEN` for notices from other processes (`listen`), SMTP
//! (`mail`) and Redis (`shared_state`).

pub mod db;
pub mod listen;
pub mod mail;
pub mod replica;
pub mod shared_state;
