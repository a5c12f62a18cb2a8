resource "aws_db_instance" "orders" {
  engine              = "postgres"
  instance_class      = "db.r6g.large"
  storage_encrypted   = true
  deletion_protection = true

  lifecycle {
    prevent_destroy = true
  }
}
