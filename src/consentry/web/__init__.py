"""The registry's pages: server-rendered HTML over the application layer, for creators
and labs who never open a terminal and a public that verifies. The pages read as the
signed-in account's party; every change is a request to the JSON API that the party's
key signs in the browser, so the server never signs for anyone."""

from consentry.web.site import create_site, mount_pages

__all__ = ["create_site", "mount_pages"]
