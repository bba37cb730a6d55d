// The reset form: sends the token from this page's address and the new password to
// `resetPassword`, and says what happened. The token never leaves this page otherwise.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("reset");
  const message = document.getElementById("message");
  const token = new URLSearchParams(window.location.search).get("token") || "";
  if (!token) {
    message.textContent = "This link has no token: open the link from the mail again.";
    form.hidden = true;
    return;
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const newPassword = document.getElementById("password").value;
    message.textContent = "Setting the password…";
    try {
      const response = await fetch("/graphql", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          query: "mutation($token: String!, $newPassword: String!) { resetPassword(token: $token, newPassword: $newPassword) }",
          variables: { token, newPassword },
        }),
      });
      const result = await response.json();
      if (result.errors && result.errors.length) {
        message.textContent = result.errors[0].message;
        return;
      }
      form.hidden = true;
      message.textContent = "Your password is set, and every session was signed out. Sign in with the new password.";
    } catch (error) {
      message.textContent = "The service could not be reached: try again shortly.";
    }
  });
});
