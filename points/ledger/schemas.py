"""The account and ledger entries as residents see them."""

import marshmallow as ma

from backend.api import Schema


class AccountSchema(Schema):
    balance = ma.fields.Integer(metadata={"description": "points you can spend"})
    co2e_g_total = ma.fields.Integer(metadata={"description": "grams CO2e avoided, all time"})
    points_today = ma.fields.Integer(
        metadata={"description": "points from actions today (Asia/Shanghai), counted for caps"}
    )
    points_earned_total = ma.fields.Integer(metadata={"description": "points ever earned"})


class LedgerEntrySchema(Schema):
    id = ma.fields.Integer()
    delta = ma.fields.Integer()
    kind = ma.fields.String()
    ref = ma.fields.String(metadata={"description": "the cause, e.g. action:42"})
    description = ma.fields.String(
        metadata={
            "description": "what the entry is for, in your language (Accept-Language): the "
            "action, campaign, badge, reward or reason"
        }
    )
    created_at = ma.fields.DateTime()
    balance_after = ma.fields.Integer()
