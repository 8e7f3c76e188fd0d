"""The REST API (/api/v1/): plumbing in `base`, the error shape in `errors`, portal's own views in `views`."""
