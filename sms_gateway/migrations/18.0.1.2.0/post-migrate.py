def migrate(cr, version):
    """18.0.1.2.0: need-to-know history. SMS User no longer implies Reader (the whole company history);
    Odoo keeps the memberships a group once implied, so take Reader back from the users who only had it
    through User (every internal user by default). Managers keep it (Manager implies Reader); give Reader
    to the people who need the whole history."""
    cr.execute(
        """DELETE FROM res_groups_users_rel reader_rel
             USING ir_model_data reader, ir_model_data sender, ir_model_data manager
            WHERE reader.module = 'sms_gateway' AND reader.name = 'group_sms_reader'
              AND sender.module = 'sms_gateway' AND sender.name = 'group_sms_user'
              AND manager.module = 'sms_gateway' AND manager.name = 'group_sms_manager'
              AND reader_rel.gid = reader.res_id
              AND EXISTS (SELECT 1 FROM res_groups_users_rel r WHERE r.uid = reader_rel.uid AND r.gid = sender.res_id)
              AND NOT EXISTS (SELECT 1 FROM res_groups_users_rel r
                               WHERE r.uid = reader_rel.uid AND r.gid = manager.res_id)"""
    )
