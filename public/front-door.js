// The way in for newcomers: a "Create an account" link under Chainlit's sign-in form, shown
// only while the sign-up page exists (TRAVELHUB_SIGNUP=off answers it with 404).
(function () {
  "use strict";
  var SIGNUP = "/signup";
  var LINK_ID = "create-account";
  var signupOpen = null; // a promise, asked once per page load

  function signInForm() {
    if (!/\/login\/?$/.test(window.location.pathname)) return null;
    var email = document.querySelector("form input#email");
    return email ? email.closest("form") : null;
  }

  function link() {
    var line = document.createElement("p");
    line.id = LINK_ID;
    line.style.cssText = "margin-top:1.5rem;text-align:center;font-size:.875rem;" +
      "color:hsl(var(--muted-foreground))";
    line.appendChild(document.createTextNode("New to Global Travel Hub? "));
    var anchor = document.createElement("a");
    anchor.href = SIGNUP;
    anchor.textContent = "Create an account";
    anchor.style.cssText = "color:hsl(var(--primary));font-weight:600;text-decoration:underline";
    line.appendChild(anchor);
    return line;
  }

  function place() {
    var form = signInForm();
    if (!form || document.getElementById(LINK_ID)) return;
    if (signupOpen === null) {
      signupOpen = fetch(SIGNUP, { method: "HEAD", credentials: "same-origin" })
        .then(function (answer) { return answer.ok; })
        .catch(function () { return false; });
    }
    signupOpen.then(function (open) {
      var current = signInForm();
      if (open && current && !document.getElementById(LINK_ID)) current.after(link());
    });
  }

  new MutationObserver(place).observe(document.documentElement, { childList: true, subtree: true });
  place();
})();
