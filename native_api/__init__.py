"""The Apache CloudStack native API (``/client/api?command=...``)."""
