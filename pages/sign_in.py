"""Staff sign-in: an OpenID Connect provider with an allowlist, or a password per staff member."""

import time

import streamlit as st

from garita import db, ui
from garita.i18n import t

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
        if config.check(user, password):
            st.session_state["_staff_user"] = user.strip()
            db.record(db.db_path(), user.strip(), "sign_in")
            st.rerun()
        else:
            time.sleep(1)  # slows guessing
            st.error(t("User name or password not recognised."))
