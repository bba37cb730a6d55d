//! Registration when an address must be proven first (`FANDB_REQUIRE_VERIFIED_EMAIL=true`): no
//! session until the mailed link is opened, and an answer that says nothing about the address.
//!
//! A new address gets an unverified account and a verification link. A taken one changes nothing:
//! its owner is told by mail that someone tried, with a password-reset link (a reset verifies the
//! address too), so an owner who forgot they had an account gets in, and a stranger who registered
//! someone else's address first cannot keep it: the owner's reset replaces the stranger's password.
//! Both paths hash the password, write one token in one transaction and leave their mail in the
//! background, and every answer waits out the same floor, so neither the answer nor its time tells
//! whether the address had an account. The per-address mail limits (`MailPacing`) hold here too.

use std::net::IpAddr;

use entity::enums::{Role, TokenPurpose};
use entity::user;
use sea_orm::{ColumnTrait, DatabaseConnection};

use super::account_mail::{self, RESET_PATH, RESET_TTL, VERIFY_PATH, VERIFY_TTL};
use super::accounts::{self, NewAccount, Registration};
use super::{DomainError, DomainResult, validate};
use crate::auth::Auth;
use crate::auth::password::check_strength;
use crate::infra::mail::{Letter, Mailer};
use crate::limits::sign_in::SignInOperation;

/// The least time a registration takes in this mode, whatever the address: more than the work of
/// either path (a password hash and one short transaction) on an unloaded server.
pub const ENROLL_ANSWER_FLOOR: std::time::Duration = std::time::Duration::from_millis(250);

/// Registers `registration` pending its address's proof. Succeeds only as
/// `DomainError::RegistrationPending` ("check your mailbox"), the same answer for a new address
/// and a taken one; invalid input is refused as usual (that depends on the input alone).
pub(crate) async fn enroll(
    db: &DatabaseConnection,
    auth: &Auth,
    mailer: &Mailer,
    client_ip: Option<IpAddr>,
    registration: Registration,
) -> DomainResult<std::convert::Infallible> {
    mailer.check_ready()?;
    auth.throttle.attempt(SignInOperation::Register, client_ip).await?;
    let email = super::mailbox::canonical(&registration.email, "input.email")?;
    let display_name = validate::text("input.displayName", &registration.display_name, 100)?;
    check_strength(&registration.password, "input.password")?;
    let started = tokio::time::Instant::now();
    let outcome = enroll_account(db, auth, mailer, email, display_name, &registration.password).await;
    tokio::time::sleep_until(started + ENROLL_ANSWER_FLOOR).await;
    outcome?;
    Err(DomainError::RegistrationPending)
}

async fn enroll_account(
    db: &DatabaseConnection,
    auth: &Auth,
    mailer: &Mailer,
    email: String,
    display_name: String,
    password: &str,
) -> DomainResult<()> {
    let password_hash = auth.passwords.hash(password).await?;
    let account = NewAccount { email, display_name, password_hash };
    // A registration racing this one for the same new address wins the insert; this one then runs
    // again and finds the address taken, so the race is answered like any taken address.
    match enroll_once(db, mailer, &account).await {
        Err(DomainError::Conflict { .. }) => enroll_once(db, mailer, &account).await,
        outcome => outcome,
    }
}

async fn enroll_once(db: &DatabaseConnection, mailer: &Mailer, account: &NewAccount) -> DomainResult<()> {
    let txn = super::begin_write(db).await?;
    let owner = account_mail::lock_user(&txn, user::Column::Email.eq(&account.email).into()).await?;
    let letter = match owner {
        None => {
            let user = accounts::insert_user(&txn, account.clone(), Role::Fan).await?;
            let token = account_mail::issue(&txn, user.id, TokenPurpose::VerifyEmail, VERIFY_TTL).await?;
            Some(verify_letter(mailer, &user, &token))
        }
        Some(owner) => {
            let pacing = mailer.pacing();
            if account_mail::may_mail(&txn, owner.id, TokenPurpose::ResetPassword, pacing).await? {
                let token = account_mail::issue(&txn, owner.id, TokenPurpose::ResetPassword, RESET_TTL).await?;
                Some(someone_tried_letter(mailer, &owner, &token))
            } else {
                tracing::info!(user.id = owner.id, "registration notice not sent: the address had its share this hour");
                None
            }
        }
    };
    txn.commit().await?;
    if let Some(letter) = letter {
        mailer.send(letter);
    }
    Ok(())
}

fn verify_letter(mailer: &Mailer, user: &user::Model, token: &str) -> Letter {
    let link = mailer.link(VERIFY_PATH, token);
    Letter {
        user_id: user.id,
        to: user.email.clone(),
        subject: "Finish signing up".to_owned(),
        body: format!(
            "Hello {name},\n\nto finish signing up, confirm this is your email address by opening this link:\n\n\
             {link}\n\nThe link works once, for the next 48 hours; then sign in with the password you chose. \
             If you did not sign up, ignore this message: no account is usable without this link.\n",
            name = user.display_name
        ),
    }
}

fn someone_tried_letter(mailer: &Mailer, owner: &user::Model, token: &str) -> Letter {
    let link = mailer.link(RESET_PATH, token);
    let state = if owner.email_verified {
        "This address already has an account, so nothing was created and nothing changed."
    } else {
        "This address already has an account waiting for its address to be confirmed, so nothing was \
         created and nothing changed."
    };
    Letter {
        user_id: owner.id,
        to: owner.email.clone(),
        subject: "Someone tried to sign up with your address".to_owned(),
        body: format!(
            "Hello {name},\n\nsomeone just tried to sign up with this email address. {state}\n\n\
             If it was you, sign in with your password. If you do not know it (or did not choose it), \
             choose a new one here; this also confirms your address:\n\n{link}\n\n\
             The link works once, for the next 30 minutes. If it was not you, ignore this message.\n",
            name = owner.display_name
        ),
    }
}
