-- Migration 4: the enterprises of a partner, for DeleteOrg (a partner org
-- is deleted with its empty enterprises, and refused while one of them
-- still belongs to an org or holds subscribers or workspaces; SPEC B5,
-- B6). EnterprisesByPartner reads it, entered at its after key.
CREATE INDEX bw_enterprises_partner_idx ON bw_enterprises (partner_id, id);
