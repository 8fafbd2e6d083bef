"""Staff sign-in: an OpenID Connect provider with an allowlist, or a password per staff member."""

import math

import streamlit as st

from garita import auth, db, ui
from garita.i18n import t


def _wait_message(attempt: auth.Attempt) -> str:
    minutes = math.ceil(attempt.wait / 60)
    when = (t("{n} seconds", n=math.ceil(attempt.wait)) if attempt.wait < 120
            else t("{n} minutes", n=minutes))
    if attempt.scope == "all":
        return t("Too many failed sign-ins on this site in the last minute. Try again in "
                 "{when}.", when=when)
    return t("Too many failed sign-ins for this user name. Try again in {when}; until then "
             "even the right password is refused.", when=when)


config = ui.staff_config()
st.write(t("Staff sign in to upload spreadsheets and manage batches. Visitors do not need "
           "to sign in: every map, chart and table is public."))
if config.oidc:
    if ui.signed_in_but_not_staff():
        st.warning(t("You are signed in, but your address is not on this deployment's staff "
                     "list. Ask an administrator to add it."))
        st.button(t("Sign out"), on_click=st.logout)
    else:
        st.button(t("Sign in with your organisation's account"), on_click=st.login,
                  type="primary")
if config.passwords:
    with st.form("staff_sign_in"):
        user = st.text_input(t("User name"))
        password = st.text_input(t("Password"), type="password")
        submitted = st.form_submit_button(t("Sign in"))
    if submitted:
        try:
            attempt = auth.sign_in(config, user, password, db.db_path())
        except db.DatabaseBusy:
            st.warning(t("Sign-in could not be recorded because a load is still writing. "
                         "Wait a minute and try again."))
        else:
            if attempt.accepted:
                st.session_state["_staff_user"] = attempt.user
                st.rerun()
            said = [t("User name or password not recognised.")] if attempt.checked else []
            st.error(" ".join(said + ([_wait_message(attempt)] if attempt.wait else [])))
