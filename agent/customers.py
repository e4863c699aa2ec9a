"""How a signed-in account appears to the travel desk: a customer, and a contact for orders."""

from __future__ import annotations

import uuid

from accounts.directory import Account
from tools.booking import Customer
from tools.orders import Contact


def customer_of(account: Account, session_id: uuid.UUID | None = None) -> Customer:
    """The account as the travel desk serves it (in the chat session `session_id`, if any)."""
    return Customer(account.tenant_id, account.user_id, account.is_admin, session_id)


def contact_of(account: Account) -> Contact:
    """The contact details an order is placed with."""
    return Contact(name=account.name, email=account.email, phone=account.phone)
