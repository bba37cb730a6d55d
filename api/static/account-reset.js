// The page password-reset links open (/account/reset). With the link's token it sets a new
// password with `resetPassword`; without one (the campaign page's "Forgot your password?") it asks
// for a link with `requestPasswordReset`. The token never leaves this page otherwise.
//
// Its operations are clients/campaign/AccountPages.graphql, in the same trusted-documents manifest
// as the campaign page's (served at /campaign/operations.json): each call sends the manifest's text
// with its hash, as the campaign page does, so the page works on a server that runs only trusted
// documents (FANDB_TRUSTED_DOCUMENTS).
"use strict";

let operations = null;

// The manifest's operation `name`: its hash and text.
async function operation(name) {
  if (!operations) {
    const manifest = await fetch("/campaign/operations.json").then((answer) => answer.json());
    operations = new Map();
    for (const [key, text] of Object.entries(manifest)) {
      const named = /\b(?:query|mutation|subscription)\s+(\w+)/.exec(text);
      if (named) operations.set(named[1], { hash: key.replace(/^sha256:/, ""), text });
    }
  }
  const found = operations.get(name);
  if (!found) throw new Error(`no operation ${name} in the manifest`);
  return found;
}

// Runs the manifest's operation `name`: the answer's JSON.
async function graphql(name, variables) {
  const { hash, text } = await operation(name);
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/graphql-response+json" },
    body: JSON.stringify({
      query: text,
      operationName: name,
      variables,
      extensions: { persistedQuery: { version: 1, sha256Hash: hash } },
    }),
  });
  return response.json();
}

// Submitting `form` runs `work`, which answers the sentence to show; once it succeeds the form is
// hidden and the page marked done (`data-done`, which the browser tests wait for).
function onSubmit(form, message, pending, work) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = pending;
    try {
      const result = await work();
      if (result.errors && result.errors.length) {
        message.textContent = result.errors[0].message;
        return;
      }
      form.hidden = true;
      message.textContent = result.done;
      document.body.dataset.done = "true";
    } catch (error) {
      message.textContent = "The service could not be reached: try again shortly.";
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const reset = document.getElementById("reset");
  const request = document.getElementById("request");
  const message = document.getElementById("message");
  const token = new URLSearchParams(window.location.search).get("token") || "";
  if (!token) {
    // No link followed: offer to mail one.
    reset.hidden = true;
    request.hidden = false;
    document.title = "Forgot your password?";
    document.getElementById("title").textContent = "Forgot your password?";
    document.body.dataset.mode = "request";
    onSubmit(request, message, "Asking for a link…", async () => {
      const email = document.getElementById("email").value;
      const result = await graphql("RequestPasswordReset", { email });
      // The same words whether or not the address has an account: the API does not say either.
      result.done = "If an account has this address, a link to choose a new password is on its way. It works for 30 minutes.";
      return result;
    });
    return;
  }
  document.body.dataset.mode = "reset";
  onSubmit(reset, message, "Setting the password…", async () => {
    const newPassword = document.getElementById("password").value;
    const result = await graphql("ResetPassword", { token, newPassword });
    result.done = "Your password is set, and every session was signed out. Sign in with the new password.";
    return result;
  });
});
