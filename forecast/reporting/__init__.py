"""What a risk team reads: portfolio files, the report builder, the HTML page, its figures."""
