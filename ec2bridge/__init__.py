"""The EC2 Query API front door (botocore's EC2 model over the shared backend).

It arrives with the next issue; the package exists now so the layering
contracts (it never imports ``native_api``, nor the models or the database)
are checked from the first commit.
"""
